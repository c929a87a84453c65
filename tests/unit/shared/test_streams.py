"""Every Kafka record type round-trips through shared/streams.py, skips what it cannot
read, and is encoded and decoded nowhere else."""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from shared.domain.cells import Cell
from shared.domain.entity import EntityState
from shared.domain.observations import Observation
from shared.domain.stats.sums import PowerSums
from shared.streams import (
    MAX_RECORD_BYTES,
    Assignment,
    CellRecord,
    Exposure,
    MalformedRecord,
    Observed,
    QuarantineRecord,
    UnknownVersion,
    decode_exposures,
    decode_metric_event,
    decode_observations,
    encode_assignments,
    encode_entity_row,
    encode_metric_event,
    encode_observations,
    encode_within,
    entity_row_partition,
    entity_row_state,
)

REPO = Path(__file__).resolve().parents[3]


def test_observation_arrays_round_trip() -> None:
    records = [
        Observed(Observation("x@1", "m", f"u{i}", i * 0.5), 100.0 + i, 2**63 - i) for i in range(3)
    ]
    decoded = decode_observations(encode_observations(records))
    assert decoded.items == records and decoded.malformed == 0


def test_a_single_observation_object_from_before_batching_still_decodes() -> None:
    record = Observed(Observation("x@1", "m", "u", 2.0), 5.0, 42)
    assert decode_observations(orjson.dumps(record.to_json())).items == [record]


def test_a_bad_item_costs_only_itself() -> None:
    good = Observed(Observation("x@1", "m", "u", 2.0), 5.0, 42).to_json()
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
        decode_exposures(b"[")


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
    decoded = decode_exposures(raw)
    [only] = decoded.items
    assert (only.experiment_key, only.entity_id, only.request_id) == ("x@1", "u", "r")
    assert decoded.malformed == 2


def test_an_assignment_moved_by_the_join_decodes_to_itself() -> None:
    a = Exposure("x@1", "u", "t", 3.5, None)
    assert decode_exposures(encode_assignments([a.as_assignment()])).items == [a]


def test_the_evaluation_services_assignments_decode_as_exposures() -> None:
    written = [
        Assignment("u1", "p", "f", "experiment", "x", "t", "v", 1.5, "r", "p/x@1"),
        Assignment("u2", "p", "f", "launch", "l", "g", "v", 2.5, None),
    ]
    assert decode_exposures(encode_assignments(written)).items == [
        Exposure("p/x@1", "u1", "t", 1.5, "r")
    ]


def test_metric_events_round_trip() -> None:
    raw = encode_metric_event(
        event_id="e-1",
        project="p",
        event_type="aws.evidently.custom",
        timestamp=10.5,
        data={"details": {"revenue": 3}},
        entity_id="u",
        request_id="r",
    )
    event = decode_metric_event(raw)
    assert (event.project, event.timestamp, event.data) == ("p", 10.5, {"details": {"revenue": 3}})
    assert event.event_id == decode_metric_event(raw).event_id


def test_entity_rows_round_trip() -> None:
    state = EntityState(60).with_exposure("t", 5.0).with_event("revenue", 6.0, 2.5, 17)
    key, value = encode_entity_row("p/x@1|u", state, 3)
    assert orjson.loads(key) == "p/x@1|u"
    row = orjson.loads(value)
    assert entity_row_state(row, 60) == state and entity_row_partition(row) == 3


def test_cells_round_trip() -> None:
    cell = Cell(
        PowerSums.point(1.0, 2.0) + PowerSums.point(3.0, 5.5e300) - PowerSums.point(0.1, 0.2), 2
    )
    record = CellRecord("p/x@1", "revenue", "t", 7, 3600, 2, cell)
    assert CellRecord.decode(record.encode()) == record
    assert record.key() == b"p/x@1|revenue|t|7|2"


def test_unknown_versions_are_skipped_and_counted() -> None:
    good = Observed(Observation("x@1", "m", "u", 2.0), 5.0, 42).to_json()
    decoded = decode_observations(orjson.dumps([good, {**good, "sv": 2}]))
    assert (len(decoded.items), decoded.unknown, decoded.malformed) == (1, 1, 0)
    exposure = Exposure("x@1", "u", "t", 3.5).as_assignment().to_json()
    decoded_exposures = decode_exposures(orjson.dumps([{**exposure, "v": 2}, exposure]))
    assert (len(decoded_exposures.items), decoded_exposures.unknown) == (1, 1)
    with pytest.raises(UnknownVersion):
        decode_metric_event(orjson.dumps({"v": 9, "project": "p", "timestamp": 1, "data": {}}))
    cell = CellRecord("k", "m", "t", 1, 60, 0, Cell())
    with pytest.raises(UnknownVersion):
        CellRecord.decode(orjson.dumps({**orjson.loads(cell.encode()), "v": 3}))
    with pytest.raises(UnknownVersion):  # float moments, before the cells were exact
        CellRecord.decode(orjson.dumps({**orjson.loads(cell.encode()), "v": 1}))
    with pytest.raises(MalformedRecord):
        CellRecord.decode(b'{"v": 2, "experimentKey": "k"}')


# Modules that produce or consume Kafka records: none may encode or decode JSON itself.
KAFKA_MODULES = [
    "services/processor/agents.py",
    "services/processor/router.py",
    "services/processor/snapshot.py",
    "services/processor/tables.py",
    "services/processor/join.py",
    "services/results/source.py",
    "services/evaluation/assignments.py",
    "services/evaluation/events.py",
    "services/evaluation/publisher.py",
]
_JSON_CALL = re.compile(r"\b(orjson|serialization|json)\.(loads|dumps)\(")


@pytest.mark.parametrize("module", KAFKA_MODULES)
def test_kafka_records_are_encoded_only_in_the_contracts_module(module: str) -> None:
    text = (REPO / module).read_text()
    assert not _JSON_CALL.search(text), f"{module} encodes or decodes JSON itself"
    assert "shared.streams" in text or module.endswith(("publisher.py", "join.py")), module


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


def test_quarantine_records_round_trip_any_payload() -> None:
    record = QuarantineRecord("verdict.events", "why", "router", 12.5, b"\x00\xffnot json", 3)
    assert QuarantineRecord.decode(record.encode()) == record
    with pytest.raises(MalformedRecord):
        QuarantineRecord.decode(b'{"source": "x"}')


def test_arrays_split_below_the_record_limit() -> None:
    items = [Exposure("x@1", "u" * 500, "t", float(i)).as_assignment() for i in range(5000)]
    records = encode_within(items, encode_assignments)
    assert len(records) > 1 and all(len(r) <= MAX_RECORD_BYTES for r in records)
    assert sum(len(orjson.loads(r)) for r in records) == 5000
