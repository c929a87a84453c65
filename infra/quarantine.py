"""`verdict quarantine list|replay`: what the processor set aside, and putting it back.

The processor writes a ``QuarantineRecord`` for every record it could not apply (a
malformed or over-limit metric event, an entity update that hit a bug), with the reason,
instead of stopping. Listing reads the topic from the start; replaying writes each chosen
record's payload back to its source topic (and partition), where it is an ordinary
delivery: event ids make a replay of something already counted a no-op while the event is
within its entity's duplicate-detection horizon (its last 128 events per metric), so a
replay soon after a fix is safe to repeat.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared import kafka, topics
from shared.streams import MalformedRecord, QuarantineRecord, UnknownVersion

EXCERPT = 200


@dataclass(frozen=True, slots=True)
class Quarantined:
    offset: int
    record: QuarantineRecord

    def summary(self) -> dict[str, Any]:
        r = self.record
        return {
            "offset": self.offset,
            "at": r.at,
            "stage": r.stage,
            "source": r.source,
            "partition": r.partition,
            "reason": r.reason,
            "bytes": len(r.payload),
            "payload": r.payload[:EXCERPT].decode("utf-8", "replace"),
        }


async def read(bootstrap_servers: str, since: int = 0) -> AsyncIterator[Quarantined]:
    """Every quarantined record from offset ``since`` to the topic's current end."""
    consumer = AIOKafkaConsumer(
        **kafka.security(),
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        tp = TopicPartition(topics.QUARANTINE, 0)
        if topics.QUARANTINE not in await consumer.topics():
            return
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        # Records past the topic's retention are gone: start at the oldest one kept.
        position = max(since, (await consumer.beginning_offsets([tp]))[tp])
        consumer.seek(tp, position)
        while position < end:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            for message in batch.get(tp, []):
                position = message.offset + 1
                try:
                    yield Quarantined(message.offset, QuarantineRecord.decode(message.value))
                except (MalformedRecord, UnknownVersion):
                    continue
                if position >= end:
                    break
    finally:
        await consumer.stop()


async def replay(bootstrap_servers: str, offsets: set[int] | None, since: int = 0) -> int:
    """Write the chosen records' payloads back to their sources; how many were written."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", **kafka.security())
    await producer.start()
    try:
        deliveries = []
        async for item in read(bootstrap_servers, since):
            if offsets is not None and item.offset not in offsets:
                continue
            r = item.record
            deliveries.append(await producer.send(r.source, r.payload, partition=r.partition))
        await asyncio.gather(*deliveries)
        return len(deliveries)
    finally:
        await producer.stop()
