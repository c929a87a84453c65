from __future__ import annotations

import orjson
import pytest

from services.processor.records import (
    AssignmentRecord,
    MalformedRecord,
    ObservationRecord,
    decode_assignments,
    decode_metric_event,
    decode_observations,
    encode_observations,
)
from shared.domain.observations import Observation


def test_observation_arrays_round_trip() -> None:
    records = [
        ObservationRecord(Observation("x@1", "m", f"u{i}", i * 0.5), 100.0 + i, 2**63 - i)
        for i in range(3)
    ]
    decoded = decode_observations(encode_observations(records))
    assert decoded.items == records and decoded.malformed == 0


def test_a_single_observation_object_from_before_batching_still_decodes() -> None:
    record = ObservationRecord(Observation("x@1", "m", "u", 2.0), 5.0, 42)
    assert decode_observations(orjson.dumps(record.to_json())).items == [record]


def test_a_bad_item_costs_only_itself() -> None:
    good = ObservationRecord(Observation("x@1", "m", "u", 2.0), 5.0, 42).to_json()
    raw = orjson.dumps(
        [
            good,
            {"k": "x@1"},  # fields missing
            1,  # not an object
            {**good, "ts": "nan"},  # passes float(), would poison the aggregates
            {**good, "v": "inf"},
            {**good, "e": "v"},
        ]
    )
    decoded = decode_observations(raw)
    assert [r.observation.entity_id for r in decoded.items] == ["u", "v"]
    assert decoded.malformed == 4


def test_a_record_that_is_not_json_is_refused_whole() -> None:
    with pytest.raises(MalformedRecord):
        decode_observations(b"{")
    with pytest.raises(MalformedRecord):
        decode_assignments(b"[")


def test_assignment_arrays_keep_experiment_assignments_and_skip_bad_items() -> None:
    common = {"entityId": "u", "treatment": "t", "timestamp": 3.0, "requestId": "r"}
    raw = orjson.dumps(
        [
            {**common, "kind": "experiment", "experimentKey": "x@1"},
            {**common, "kind": "launch", "experimentKey": None},
            {**common, "kind": "experiment", "experimentKey": "x@1", "timestamp": "inf"},
            "not an object",
        ]
    )
    decoded = decode_assignments(raw)
    [only] = decoded.items
    assert (only.experiment_key, only.entity_id, only.request_id) == ("x@1", "u", "r")
    assert decoded.malformed == 2


def test_an_assignment_moved_by_the_join_decodes_to_itself() -> None:
    a = AssignmentRecord("x@1", "u", "t", 3.5, None)
    assert decode_assignments(orjson.dumps([a.to_json()])).items == [a]


@pytest.mark.parametrize(
    "body",
    [
        {"project": "p", "timestamp": 1.0, "data": {}, "eventId": 123},
        {"project": "p", "timestamp": "nan", "data": {}},
        {"project": "p", "timestamp": 1.0, "data": [1]},
        {"project": "p", "data": {}},
        [1, 2],
    ],
)
def test_malformed_metric_events_are_refused(body: object) -> None:
    with pytest.raises(MalformedRecord):
        decode_metric_event(orjson.dumps(body))
