"""Routing metric events to observation arrays, without Kafka."""

from __future__ import annotations

import json

import orjson

from services.processor.records import decode_observations
from services.processor.router import route
from shared.domain.observations import MetricSpec
from shared.domain.patterns import compile_pattern
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
        for record in decode_observations(value):
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
    got = sorted(
        (r.observation.metric, r.observation.entity_id)
        for _, value in routed.records
        for r in decode_observations(value)
    )
    assert got == [("clicks", "a"), ("revenue", "c")]


def test_arrays_are_capped_per_record() -> None:
    raws = [event("shop", {"user": "same", "clicks": 1}, f"e{i}") for i in range(1200)]
    routed = route(raws, lambda project: SPECS, 4)
    assert [len(decode_observations(v)) for _, v in routed.records] == [500, 500, 200]
