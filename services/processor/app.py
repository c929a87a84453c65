"""The faust App and its configuration follower; topics, tables and agents live beside it."""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial
from typing import Any

import faust

from services.processor.config import ProcessorConfig
from shared import topics
from shared.config import Settings

settings = Settings.from_env()


def _broker(bootstrap: str | None) -> str:
    if not bootstrap:
        raise RuntimeError("the processor needs KAFKA_BOOTSTRAP_SERVERS")
    return ";".join(f"kafka://{server.strip()}" for server in bootstrap.split(","))


app = faust.App(
    topics.PROCESSOR_APP_ID,
    broker=_broker(settings.kafka_bootstrap_servers),
    store="memory://",
    topic_partitions=settings.topic_partitions,
    topic_replication_factor=settings.topic_replication,
    web_host=settings.host,
    web_bind=settings.host,
    web_port=settings.processor_port,
    broker_session_timeout=settings.kafka_session_timeout_ms / 1000,
    broker_heartbeat_interval=max(0.3, settings.kafka_session_timeout_ms / 10_000),
    producer_acks=-1,
    # A standby replica's changelog reader writes into the same in-memory store;
    # on a worker that is also active for the partition it rewinds live rows to
    # older values. The memory store recovers from the changelog anyway.
    table_standby_replicas=0,
    # Table keys travel as JSON strings.
    key_serializer="json",
    value_serializer="json",
    autodiscover=False,
)

if not settings.database_url:
    raise RuntimeError("the processor needs DATABASE_URL to follow the configuration")
config = ProcessorConfig(settings.database_url)


@app.task
async def start_processor() -> None:
    buffer = app.producer.buffer
    setattr(buffer, "flush", partial(_drain_completely, buffer))  # noqa: B010 - see below
    await config.start()


async def _drain_completely(buffer: Any) -> None:
    """Flush faust's producer buffer until it is empty.

    faust-streaming's ``ProducerBuffer.flush`` returns as soon as 0.1 s pass
    without a send, with records still buffered; the consumer then commits
    source offsets past table changelog writes that a SIGKILL loses. Every
    commit flushes through here, so nothing is committed before it is sent.
    """
    while buffer.size:
        buffer.message_sent.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(buffer.message_sent.wait(), timeout=0.1)
