"""The faust App and its configuration follower; topics, tables and agents live beside it.

faust declares its app, topics, tables and agents at import, so the settings are read
here, once, as the process starts. Nothing raises at import: ``verdict serve processor``
checks that the settings name the servers before it starts the worker, and tests can
import the processor's modules without them."""

from __future__ import annotations

import faust

from services.processor.config import ProcessorConfig
from shared import kafka, topics
from shared.config import Settings

settings = Settings.from_env()


def _credentials(settings: Settings) -> faust.SASLCredentials | faust.SSLCredentials | None:
    """faust's form of the broker security every other client takes from shared/kafka.py."""
    protocol = settings.kafka_security_protocol
    context = kafka.ssl_context(settings) if protocol in ("SSL", "SASL_SSL") else None
    if protocol.startswith("SASL_"):
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username,
            password=settings.kafka_sasl_password,
            ssl_context=context,
            mechanism=settings.kafka_sasl_mechanism or "SCRAM-SHA-512",
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None


def _broker(bootstrap: str | None) -> str:
    servers = bootstrap or "localhost:9092"  # never used unset: serve checks it first
    return ";".join(f"kafka://{server.strip()}" for server in servers.split(","))


app = faust.App(
    topics.PROCESSOR_APP_ID,
    broker=_broker(settings.kafka_bootstrap_servers),
    store="memory://",
    topic_partitions=settings.topic_partitions,
    topic_replication_factor=settings.topic_replication,
    broker_credentials=_credentials(settings),
    # Health and metrics only (web.py), from this host unless configured otherwise.
    web_host=settings.processor_host,
    web_bind=settings.processor_host,
    web_port=settings.processor_port,
    broker_session_timeout=settings.kafka_session_timeout_ms / 1000,
    broker_heartbeat_interval=max(0.3, settings.kafka_session_timeout_ms / 10_000),
    # faust's default (90 s) let one request hung across a crashed peer stall a
    # restarted worker for a minute and a half; two session timeouts suffice.
    broker_request_timeout=max(10.0, 2 * settings.kafka_session_timeout_ms / 1000),
    producer_acks=-1,
    # faust's default linger of 0 sent each record in its own produce request: a
    # fifth of the processor's CPU went to socket writes (py-spy; README,
    # Benchmarks). Records are acknowledged by offset commits, not awaited
    # one by one, so 5 ms of linger costs no throughput.
    producer_linger=0.005,
    producer_max_batch_size=256 * 1024,
    # A standby replica's changelog reader writes into the same in-memory store;
    # on a worker that is also active for the partition it rewinds live rows to
    # older values. The memory store recovers from the changelog anyway.
    table_standby_replicas=0,
    # Table keys travel as JSON strings.
    key_serializer="json",
    value_serializer="json",
    autodiscover=False,
)

config = ProcessorConfig(settings.database_url or "")


@app.task
async def start_processor() -> None:
    await config.start()
