"""How every Kafka client of Verdict authenticates to the broker: one place.

The embedded broker listens on loopback in plaintext; an external one should require
SASL or TLS (README, Security). The settings say which, and every aiokafka client and the
faust app take their arguments from here, so no client can be left talking plaintext.
"""

from __future__ import annotations

import ssl
from functools import cache
from typing import Any

from aiokafka.helpers import create_ssl_context

from shared.config import Settings


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for AIOKafkaProducer, AIOKafkaConsumer and AIOKafkaAdminClient."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = ssl_context(settings)
    if protocol.startswith("SASL_"):
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism or "SCRAM-SHA-512"
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = settings.kafka_sasl_password
    return options


def ssl_context(settings: Settings) -> ssl.SSLContext:
    context: ssl.SSLContext = create_ssl_context(
        cafile=settings.kafka_ssl_cafile,
        certfile=settings.kafka_ssl_certfile,
        keyfile=settings.kafka_ssl_keyfile,
    )
    return context


@cache
def security() -> dict[str, Any]:
    """This process's options, from its environment, read once."""
    return client_options(Settings.from_env())
