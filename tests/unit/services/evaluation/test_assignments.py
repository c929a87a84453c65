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


class SlowProducer(RecordingProducer):
    """Each send takes a while, so a stop can arrive in the middle of one."""

    def __init__(self, partitions: int) -> None:
        super().__init__(partitions)
        self.sending = asyncio.Event()

    async def send(self, topic: str, value: bytes, partition: int) -> None:
        self.sending.set()
        await asyncio.sleep(0.05)
        await super().send(topic, value, partition)


async def test_a_stop_in_the_middle_of_a_send_loses_nothing() -> None:
    producer = SlowProducer(4)
    publisher = AssignmentPublisher(producer, "verdict.assignments", linger=0.01)  # type: ignore[arg-type]
    await publisher.start()
    for i in range(40):
        publisher.emit(assignment(i))
    await producer.sending.wait()
    for i in range(40, 60):  # queued while the first slice is on its way
        publisher.emit(assignment(i))
    await publisher.stop()
    got = sorted(a["entityId"] for _, _, batch in producer.sent for a in batch)
    assert got == sorted(f"user-{i}" for i in range(60))


async def test_a_stop_does_not_wait_out_the_linger() -> None:
    producer = RecordingProducer(1)
    publisher = AssignmentPublisher(producer, "verdict.assignments", linger=30.0)  # type: ignore[arg-type]
    await publisher.start()
    publisher.emit(assignment(1))
    await asyncio.sleep(0)
    async with asyncio.timeout(1.0):
        await publisher.stop()
    assert [a["entityId"] for _, _, batch in producer.sent for a in batch] == ["user-1"]
