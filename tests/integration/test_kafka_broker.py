"""The embedded broker is a real Kafka: idempotent producer, and data that survives a restart."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from infra.launch.infrastructure import Infrastructure
from infra.launch.kafka import start_kafka
from shared.topics import TopicSpec, ensure_topics
from tests.conftest import JARS

pytestmark = pytest.mark.integration


async def produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for v in values:
            await producer.send_and_wait(topic, v, key=b"k")
    finally:
        await producer.stop()


async def read_all(bootstrap: str, topic: str) -> list[bytes]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        out: list[bytes] = []
        while len(out) < end:
            batch = await consumer.getmany(tp, timeout_ms=2000)
            out += [m.value for m in batch.get(tp, [])]
        return out
    finally:
        await consumer.stop()


async def test_idempotent_producer_and_exact_end_offsets(infrastructure: Infrastructure) -> None:
    topic = f"t-{uuid.uuid4().hex}"
    await ensure_topics(infrastructure.kafka_bootstrap_servers, [TopicSpec(topic, 1)])
    values = [f"v{i}".encode() for i in range(25)]
    await produce(infrastructure.kafka_bootstrap_servers, topic, values)
    assert await read_all(infrastructure.kafka_bootstrap_servers, topic) == values


async def test_embedded_broker_keeps_its_data_across_a_restart(tmp_path: Path) -> None:
    broker = await asyncio.to_thread(start_kafka, tmp_path / "kafka", JARS, 1)
    topic = "durable"
    try:
        await ensure_topics(broker.bootstrap_servers, [TopicSpec(topic, 1)])
        await produce(broker.bootstrap_servers, topic, [b"a", b"b"])
    finally:
        await asyncio.to_thread(broker.stop)
    broker = await asyncio.to_thread(start_kafka, tmp_path / "kafka", JARS, 1)
    try:
        await produce(broker.bootstrap_servers, topic, [b"c"])
        assert await read_all(broker.bootstrap_servers, topic) == [b"a", b"b", b"c"]
    finally:
        await asyncio.to_thread(broker.stop)
