"""The publisher against a real broker: acknowledged events, and a bound it never passes."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import pytest

from infra.launch.infrastructure import Infrastructure
from services.evaluation.publisher import OutgoingEvent, Publisher, create_producer
from shared.topics import TopicSpec, ensure_topics

pytestmark = pytest.mark.integration


def outgoing(n: int) -> list[OutgoingEvent]:
    return [OutgoingEvent(str(uuid.uuid4()), f"k{i}".encode(), b"{}") for i in range(n)]


async def test_acknowledged_events_are_reported_accepted(infrastructure: Infrastructure) -> None:
    topic = f"t-{uuid.uuid4().hex}"
    await ensure_topics(infrastructure.kafka_bootstrap_servers, [TopicSpec(topic, 2)])
    producer = create_producer(infrastructure.kafka_bootstrap_servers)
    await producer.start()
    try:
        assert await Publisher(producer, topic, 5.0).publish(outgoing(20)) == [None] * 20
    finally:
        await producer.stop()


async def test_a_send_that_cannot_complete_is_failed_within_the_bound(
    infrastructure: Infrastructure,
) -> None:
    """A topic the broker has no metadata for (auto-creation is off): aiokafka's send
    waits for metadata for its whole request timeout, and would for ever on some
    errors. The call still answers within its bound, every event failed."""
    producer = create_producer(infrastructure.kafka_bootstrap_servers)
    await producer.start()
    try:
        publisher = Publisher(producer, f"missing-{uuid.uuid4().hex}", 1.0)
        started = time.monotonic()
        outcomes = await publisher.publish(outgoing(5))
        took = time.monotonic() - started
    finally:
        await producer.stop()
    # Not a speed target: without the bound the send waits out aiokafka's request timeout
    # (4 s) or longer; the slack keeps a loaded machine from failing a correct bound.
    assert 1.0 <= took < 3.0
    assert outcomes == ["the broker did not acknowledge the event within 1 s"] * 5


async def test_an_event_acknowledged_after_its_call_answered_is_said(
    infrastructure: Infrastructure, caplog: pytest.LogCaptureFixture
) -> None:
    """Failed in its call, then taken by the broker: the log names it (the caller's
    retry with the same idempotency key is what keeps it from counting twice)."""
    topic = f"t-{uuid.uuid4().hex}"
    await ensure_topics(infrastructure.kafka_bootstrap_servers, [TopicSpec(topic, 1)])
    producer = create_producer(infrastructure.kafka_bootstrap_servers)
    await producer.start()
    try:
        assert await Publisher(producer, topic, 5.0).publish(outgoing(1)) == [None]
        # Shorter than the producer's linger: no ack can be in by then.
        events = outgoing(3)
        outcomes = await Publisher(producer, topic, 0.0001).publish(events)
        assert outcomes == ["the broker did not acknowledge the event within 0.0001 s"] * 3
        with caplog.at_level(logging.WARNING, logger="services.evaluation.publisher"):
            await producer.flush()
            await asyncio.sleep(0.01)  # the futures' callbacks run after the flush
    finally:
        await producer.stop()
    [record] = caplog.records
    assert record.getMessage().startswith("3 events reported failed were acknowledged")
    assert all(e.event_id in record.getMessage() for e in events)
