from __future__ import annotations

import orjson
import pytest

from services.processor.records import (
    MalformedRecord,
    ObservationRecord,
    decode_assignments,
    decode_observations,
    encode_observations,
)
from shared.domain.observations import Observation


def test_observation_arrays_round_trip() -> None:
    records = [
        ObservationRecord(Observation("x@1", "m", f"u{i}", i * 0.5), 100.0 + i, 2**63 - i)
        for i in range(3)
    ]
    assert decode_observations(encode_observations(records)) == records


def test_a_single_observation_object_from_before_batching_still_decodes() -> None:
    record = ObservationRecord(Observation("x@1", "m", "u", 2.0), 5.0, 42)
    assert decode_observations(orjson.dumps(record.to_json())) == [record]


@pytest.mark.parametrize("raw", [b"{", b'[{"k": "x"}]', b"[1]", b'"text"'])
def test_malformed_observations_are_refused(raw: bytes) -> None:
    with pytest.raises(MalformedRecord):
        decode_observations(raw)


def test_assignment_arrays_keep_experiment_assignments_only() -> None:
    common = {"entityId": "u", "treatment": "t", "timestamp": 3.0, "requestId": "r"}
    raw = orjson.dumps(
        [
            {**common, "kind": "experiment", "experimentKey": "x@1"},
            {**common, "kind": "launch", "experimentKey": None},
        ]
    )
    [only] = decode_assignments(raw)
    assert (only.experiment_key, only.entity_id, only.request_id) == ("x@1", "u", "r")
