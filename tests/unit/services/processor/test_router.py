"""Routing metric events to observation arrays, without Kafka."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import orjson
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, KafkaTimeoutError

from services.processor.router import EventRouter, route
from shared.domain.observations import MetricSpec
from shared.domain.patterns import compile_pattern
from shared.streams import MAX_RECORD_BYTES, decode_observations
from shared.topics import entity_partition

SPECS = [
    MetricSpec(
        "shop/x@1",
        "revenue",
        ("user",),
        ("amount",),
        compile_pattern(json.dumps({"kind": ["purchase"]}), field="eventPattern"),
    ),
    MetricSpec("shop/x@1", "clicks", ("user",), ("clicks",), None),
]


def event(project: str, data: object, event_id: str | None = None) -> bytes:
    body = {"project": project, "timestamp": 10.0, "data": data}
    if event_id:
        body["eventId"] = event_id
    return orjson.dumps(body)


def test_events_become_observations_in_their_entity_partition() -> None:
    raws = [
        event("shop", {"user": f"u{i}", "kind": "purchase", "amount": i, "clicks": 1}, f"e{i}")
        for i in range(300)
    ]
    routed = route(raws, lambda project: SPECS if project == "shop" else (), 4)
    assert routed.counts == {"routed": 300}
    seen = []
    for partition, value in routed.records:
        for record in decode_observations(value).items:
            o = record.observation
            assert entity_partition(o.entity_id, 4) == partition
            seen.append((o.metric, o.entity_id, o.value))
    assert len(seen) == 600
    assert ("revenue", "u7", 7.0) in seen and ("clicks", "u7", 1.0) in seen


def test_patterns_projects_and_bad_records() -> None:
    raws = [
        event("shop", {"user": "a", "kind": "view", "amount": 5, "clicks": 2}),  # clicks only
        event("other", {"user": "b", "kind": "purchase", "amount": 5}),  # no experiment
        event("shop", json.dumps({"user": "c", "kind": "purchase", "amount": 3})),  # data as text
        b"not json",
        orjson.dumps({"project": "shop", "timestamp": 1.0, "data": [1, 2]}),
    ]
    routed = route(raws, lambda project: SPECS if project == "shop" else (), 4)
    assert routed.counts == {"routed": 3, "malformed": 2}
    assert [raw for raw, _ in routed.quarantined] == raws[3:]
    got = sorted(
        (r.observation.metric, r.observation.entity_id)
        for _, value in routed.records
        for r in decode_observations(value).items
    )
    assert got == [("clicks", "a"), ("revenue", "c")]


def test_arrays_are_capped_per_record() -> None:
    raws = [event("shop", {"user": "same", "clicks": 1}, f"e{i}") for i in range(1200)]
    routed = route(raws, lambda project: SPECS, 4)
    assert [len(decode_observations(v).items) for _, v in routed.records] == [500, 500, 200]


class _Message:
    def __init__(self, offset: int, value: bytes) -> None:
        self.offset = offset
        self.value = value


class _Consumer:
    def __init__(self, commit_error: Exception | None = None) -> None:
        self.commit_error = commit_error
        self.committed: list[dict[object, int]] = []
        self.seeks: list[tuple[object, int]] = []
        self.assigned: set[object] = set()

    async def commit(self, offsets: dict[object, int]) -> None:
        if self.commit_error is not None:
            raise self.commit_error
        self.committed.append(offsets)

    def assignment(self) -> set[object]:
        return self.assigned

    def seek(self, tp: object, offset: int) -> None:
        self.seeks.append((tp, offset))


class _Producer:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.sent: list[tuple[str, int]] = []

    async def send(
        self, topic: str, value: bytes, partition: int | None = None
    ) -> asyncio.Future[None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.error is not None:
            future.set_exception(self.error)
        else:
            self.sent.append((topic, -1 if partition is None else partition))
            future.set_result(None)
        return future


def _batch() -> dict[Any, list[_Message]]:
    tp = TopicPartition("verdict.events", 0)
    return {
        tp: [
            _Message(10 + i, event("shop", {"user": f"u{i}", "clicks": 1}, f"e{i}"))
            for i in range(5)
        ]
    }


def _router() -> EventRouter:
    return EventRouter("127.0.0.1:1", lambda project: SPECS, 4, 6000, retry_pause=0)


async def test_a_routed_batch_is_committed_after_its_observations_are_acknowledged() -> None:
    consumer, producer = _Consumer(), _Producer()
    router = _router()
    assert await router.route_batch(consumer, producer, _batch())  # type: ignore[arg-type]
    assert producer.sent and all(t == "verdict.observations" for t, _ in producer.sent)
    [offsets] = consumer.committed
    assert list(offsets.values()) == [15]
    assert router.positions == {0: 15}


async def test_a_batch_the_broker_refused_is_read_again_not_committed() -> None:
    consumer, producer = _Consumer(), _Producer(KafkaTimeoutError())
    batch = _batch()
    consumer.assigned = set(batch)
    router = _router()
    assert not await router.route_batch(consumer, producer, batch)  # type: ignore[arg-type]
    assert consumer.committed == []
    assert consumer.seeks == [(next(iter(batch)), 10)]
    assert router.positions == {}


async def test_a_batch_whose_partitions_moved_is_left_to_their_new_owner() -> None:
    consumer, producer = _Consumer(CommitFailedError("rebalanced")), _Producer()
    router = _router()
    assert not await router.route_batch(consumer, producer, _batch())  # type: ignore[arg-type]
    assert consumer.seeks == []
    assert router.positions == {}


async def test_a_revoked_partition_loses_its_position_and_lag() -> None:
    from services.processor.router import _ForgetRevoked
    from shared.observability import PROCESSOR_LAG

    positions = {0: 15, 1: 7}
    PROCESSOR_LAG.labels("verdict.events", "1").set(3)
    await _ForgetRevoked(positions).on_partitions_revoked([TopicPartition("verdict.events", 1)])
    assert positions == {0: 15}
    assert ("verdict.events", "1") not in PROCESSOR_LAG._metrics


def test_events_past_a_limit_are_set_aside_with_the_reason() -> None:
    """Producers of one's own bypass PutProjectEvents: the same limits hold in the router."""
    raws = [
        event("shop", {"user": "a", "clicks": 1e200}, "huge"),
        event("shop", {"user": "x" * 300_000, "clicks": 1}, "long"),
        event("shop", {"user": "b", "clicks": 2}, "fine"),
    ]
    routed = route(raws, lambda project: SPECS, 4)
    assert routed.counts == {"refused": 2, "routed": 1}
    reasons = [reason for _, reason in routed.quarantined]
    assert "outside ±1e+150" in reasons[0] and "longer than 512" in reasons[1]
    assert sum(len(decode_observations(v).items) for _, v in routed.records) == 1


def test_a_bug_in_one_event_sets_that_event_aside_only() -> None:
    def specs_for(project: str) -> list[MetricSpec]:
        if project == "broken":
            raise RuntimeError("boom")
        return SPECS

    raws = [event("broken", {"user": "a", "clicks": 1}), event("shop", {"user": "b", "clicks": 1})]
    routed = route(raws, specs_for, 4)
    assert routed.counts == {"failed": 1, "routed": 1}
    assert "RuntimeError('boom')" in routed.quarantined[0][1]


def test_no_record_passes_the_size_limit() -> None:
    """500 observations of 512-character ids would be 300 KB: split before they reach 1 MB,
    whatever the item size."""
    raws = [event("shop", {"user": f"{i:0>512}", "clicks": 1}, f"e{i}") for i in range(3000)]
    routed = route(raws, lambda project: SPECS, 1)
    assert all(len(v) <= MAX_RECORD_BYTES for _, v in routed.records)
    assert sum(len(decode_observations(v).items) for _, v in routed.records) == 3000


async def test_set_aside_events_reach_the_quarantine_before_the_commit() -> None:
    consumer, producer = _Consumer(), _Producer()
    batch = _batch()
    [messages] = batch.values()
    messages.append(_Message(15, b"not json"))
    assert await _router().route_batch(consumer, producer, batch)  # type: ignore[arg-type]
    assert ("verdict.quarantine", -1) in producer.sent
    assert list(consumer.committed[0].values()) == [16]
