"""The assignment publisher's batching, against an in-memory stand-in for the producer.

The e2e tests check the records on a real broker; this checks the batching rules.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from services.evaluation.assignments import AssignmentPublisher
from shared.streams import Assignment
from shared.topics import entity_partition


class RecordingProducer:
    def __init__(self, partitions: int) -> None:
        self.partitions = partitions
        self.sent: list[tuple[str, int, list[dict[str, Any]]]] = []

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(self.partitions))

    async def send(self, topic: str, value: bytes, partition: int) -> None:
        self.sent.append((topic, partition, orjson.loads(value)))

    async def flush(self) -> None:
        return None


def assignment(i: int) -> Assignment:
    return Assignment(f"user-{i}", "p", "f", "experiment", "x", "t", "v", 1.0, None, "p/x@1")


async def test_assignments_emitted_together_leave_as_one_record_per_partition() -> None:
    producer = RecordingProducer(4)
    publisher = AssignmentPublisher(producer, "verdict.assignments", linger=0.05)  # type: ignore[arg-type]
    await publisher.start()
    try:
        for i in range(40):
            publisher.emit(assignment(i))
            await asyncio.sleep(0)  # as requests arrive, the publisher gets the loop
        await asyncio.sleep(0.2)
    finally:
        await publisher.stop()
    assert len(producer.sent) <= 4
    got = sorted(a["entityId"] for _, _, batch in producer.sent for a in batch)
    assert got == sorted(f"user-{i}" for i in range(40))
    for topic, partition, batch in producer.sent:
        assert topic == "verdict.assignments"
        assert all(entity_partition(a["entityId"], 4) == partition for a in batch)
    assert publisher.sent == 40 and publisher.dropped == 0


async def test_records_are_capped_and_overload_is_shed_and_counted() -> None:
    producer = RecordingProducer(1)
    publisher = AssignmentPublisher(
        producer,  # type: ignore[arg-type]
        "verdict.assignments",
        max_queue=500,
        per_record=200,
        linger=0.01,
    )
    for i in range(600):
        publisher.emit(assignment(i))
    assert publisher.dropped == 100
    await publisher.start()
    try:
        await asyncio.sleep(0.1)
    finally:
        await publisher.stop()
    assert [len(batch) for _, _, batch in producer.sent] == [200, 200, 100]
