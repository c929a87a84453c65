"""Every record that crosses a process on Kafka, defined once: its fields, its encoding,
its decoding. Producers and consumers (the evaluation service, the processor, the
results service, the benchmarks) encode and decode only through this module.

- ``verdict.events``: ``MetricEvent``, one JSON object; written by PutProjectEvents and
  your producers, read by the processor's router.
- ``verdict.assignments``: ``Assignment`` items, a JSON array; written by the evaluation
  service, read by the join (as ``Exposure``).
- ``verdict.observations``: ``Observed`` items, a JSON array; written by the router,
  read by the join.
- the entities table's changelog: an entity row (``EntityState`` and its partition);
  written by the join, read by faust's table recovery.
- ``verdict.aggregates``: ``CellRecord``, compacted by cell; written by the processor,
  read by the results service.
- ``verdict.quarantine``: ``QuarantineRecord``, what the processor set aside and why;
  written by the processor, read by ``verdict quarantine``.

**Versions.** Every record or array item may carry its schema version, ``"v"`` (in
an observations item ``"sv"``, where ``"v"`` has always been the value); absent means
1, so the records written before versions existed read as version 1.
A reader skips and counts an item of a version it does not know (``unknown``),
never fails on it: a newer writer can be deployed before its readers.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import mmh3
import orjson

from shared import serialization
from shared.domain.cells import Cell
from shared.domain.entity import EntityState
from shared.domain.observations import Observation
from shared.domain.resources import ResourceKind

VERSION = 1
# Aggregate cells hold exact power sums since version 2; version 1's float moments cannot be
# read exactly, and the processor republishes every cell it rebuilds on start.
CELL_VERSION = 2


class MalformedRecord(ValueError):
    pass


class UnknownVersion(ValueError):
    """A record of a schema version this reader does not know: skip it and count it."""


def _check_version(body: Mapping[str, Any], expected: int = VERSION) -> None:
    version = body.get("v", 1)
    if version != expected:
        raise UnknownVersion(f"schema version {version!r}")


def finite(value: Any, name: str) -> float:
    """A float that arithmetic can use: "nan" and "inf" pass float() but would poison
    every aggregate they reach, and JSON cannot carry them onward."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} is not a finite number: {value!r}")
    return number


T = TypeVar("T")
_ITEM_ERRORS = (KeyError, TypeError, ValueError, AttributeError, OverflowError)


@dataclass(frozen=True, slots=True)
class Decoded(Generic[T]):
    """The good items of an array record, and how many were skipped: one bad item never
    costs the others in its record."""

    items: list[T]
    malformed: int = 0
    unknown: int = 0


def _array(raw: bytes, what: str) -> list[Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedRecord(f"malformed {what}: {exc}") from None
    # A single object is how records were written before they were batched.
    return body if isinstance(body, list) else [body]


# -- verdict.events -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MetricEvent:
    event_id: int  # 64-bit hash: what deduplicates a redelivered event
    project: str
    timestamp: float
    data: dict[str, Any]


def event_id_hash(event_id: str | None, raw: bytes) -> int:
    # A producer that sends no eventId gets one derived from the record itself:
    # the same record delivered twice is then recognised as one event.
    source = event_id.encode() if event_id else raw
    return int(mmh3.hash64(source, 0, True)[0])


def encode_metric_event(
    *,
    event_id: str,
    project: str,
    event_type: str,
    timestamp: float,
    data: Mapping[str, Any],
    entity_id: str | None,
    request_id: str | None,
) -> bytes:
    """A metric event as PutProjectEvents writes it (README, "Topics")."""
    return serialization.dumps(
        {
            "eventId": event_id,
            "project": project,
            "type": event_type,
            "timestamp": timestamp,
            "data": data,
            "entityId": entity_id,
            "requestId": request_id,
        }
    )


def decode_metric_event(raw: bytes) -> MetricEvent:
    try:
        body = orjson.loads(raw)
        if not isinstance(body, dict):
            raise TypeError("the record is not a JSON object")
        _check_version(body)
        data = body["data"]
        if isinstance(data, str):
            data = orjson.loads(data)
        if not isinstance(data, dict):
            raise TypeError("data is not a JSON object")
        event_id = body.get("eventId")
        if event_id is not None and not isinstance(event_id, str):
            raise TypeError("eventId is not a string")
        return MetricEvent(
            event_id=event_id_hash(event_id, raw),
            project=str(body["project"]),
            timestamp=finite(body["timestamp"], "timestamp"),
            data=data,
        )
    except UnknownVersion:
        raise
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, OverflowError) as exc:
        raise MalformedRecord(f"malformed metric event: {exc}") from None


# -- verdict.assignments ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assignment:
    """Who got which treatment (or launch group), when: one item of an assignments record."""

    entity_id: str
    project: str
    feature: str
    kind: str  # a ResourceKind: EXPERIMENT or LAUNCH
    name: str
    treatment: str  # the treatment, or the launch group
    variation: str
    timestamp: float
    request_id: str | None
    experiment_key: str | None = None  # one incarnation of the experiment; None for launches

    def to_json(self) -> dict[str, object]:
        return {
            "entityId": self.entity_id,
            "project": self.project,
            "feature": self.feature,
            "kind": self.kind,
            "name": self.name,
            "treatment": self.treatment,
            "variation": self.variation,
            "timestamp": self.timestamp,
            "requestId": self.request_id,
            "experimentKey": self.experiment_key,
        }


def encode_assignments(items: list[Assignment]) -> bytes:
    return serialization.dumps([a.to_json() for a in items])


@dataclass(frozen=True, slots=True)
class Exposure:
    """An experiment assignment as the join reads it: the fields that expose an entity."""

    experiment_key: str
    entity_id: str
    treatment: str
    timestamp: float
    request_id: str | None = None

    def as_assignment(self) -> Assignment:
        """To write it again (the join moves a record to its entity partition)."""
        return Assignment(
            self.entity_id,
            "",
            "",
            ResourceKind.EXPERIMENT,
            "",
            self.treatment,
            "",
            self.timestamp,
            self.request_id,
            self.experiment_key,
        )


def _exposure(b: Any) -> Exposure | None:
    _check_version(b)
    if b.get("kind") != ResourceKind.EXPERIMENT or not b.get("experimentKey"):
        return None  # launch assignments are not analysed
    request_id = b.get("requestId")
    return Exposure(
        str(b["experimentKey"]),
        str(b["entityId"]),
        str(b["treatment"]),
        finite(b["timestamp"], "timestamp"),
        request_id if isinstance(request_id, str) else None,
    )


def decode_exposures(raw: bytes) -> Decoded[Exposure]:
    """The experiment assignments in one record on ``verdict.assignments``."""
    items: list[Exposure] = []
    malformed = unknown = 0
    for item in _array(raw, "assignment"):
        try:
            one = _exposure(item)
        except UnknownVersion:
            unknown += 1
            continue
        except _ITEM_ERRORS:
            malformed += 1
            continue
        if one is not None:
            items.append(one)
    return Decoded(items, malformed, unknown)


# -- verdict.observations ---------------------------------------------------------------

# Items per array record on verdict.observations (~100 B each), and per record the
# join moves to its entity partition: well under the producer's 256 KB batches.
ITEMS_PER_RECORD = 500


@dataclass(frozen=True, slots=True)
class Observed:
    """One metric value of one entity, from one metric event: an observations item."""

    observation: Observation
    timestamp: float
    event_id: int

    def to_json(self) -> dict[str, Any]:
        o = self.observation
        return {
            "k": o.experiment_key,
            "m": o.metric,
            "e": o.entity_id,
            "v": o.value,
            "ts": self.timestamp,
            "id": self.event_id,
        }


def encode_observations(items: list[Observed]) -> bytes:
    return serialization.dumps([r.to_json() for r in items])


def _observed(b: Any) -> Observed:
    # "v" is the observed value here, as it always was; the schema version of an
    # observations item is "sv".
    version = b.get("sv", 1)
    if version != VERSION:
        raise UnknownVersion(f"schema version {version!r}")
    return Observed(
        Observation(str(b["k"]), str(b["m"]), str(b["e"]), finite(b["v"], "value")),
        finite(b["ts"], "timestamp"),
        int(b["id"]),
    )


def decode_observations(raw: bytes) -> Decoded[Observed]:
    """One record on ``verdict.observations``."""
    items: list[Observed] = []
    malformed = unknown = 0
    for item in _array(raw, "observation"):
        try:
            items.append(_observed(item))
        except UnknownVersion:
            unknown += 1
        except _ITEM_ERRORS:
            malformed += 1
    return Decoded(items, malformed, unknown)


# -- the entities table's changelog -----------------------------------------------------


def encode_entity_row(key: str, state: EntityState, partition: int) -> tuple[bytes, bytes]:
    """(key, value) of an entity row; the row keeps its partition so that aggregates can
    be rebuilt per partition."""
    return orjson.dumps(key), orjson.dumps({**state.to_json(), "p": partition})


def entity_row_state(row: Mapping[str, Any], bucket_seconds: int) -> EntityState:
    """The state of a row as faust's table recovered it (a JSON object); a row of the
    version that kept every event is folded into per-``bucket_seconds`` sums."""
    return EntityState.from_json(row, bucket_seconds)


def entity_row_partition(row: Mapping[str, Any]) -> int:
    return int(row["p"])


# -- verdict.aggregates -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CellRecord:
    """One aggregate cell of one processor partition: (experiment, metric, treatment,
    bucket). The topic is compacted by ``key``: a cell's newest value replaces the older."""

    experiment_key: str
    metric: str
    treatment: str
    bucket: int
    bucket_seconds: int
    partition: int
    cell: Cell

    def key(self) -> bytes:
        parts = (self.experiment_key, self.metric, self.treatment, self.bucket, self.partition)
        return "|".join(map(str, parts)).encode()

    def encode(self) -> bytes:
        return serialization.dumps(
            {
                **self.cell.to_json(),
                "v": CELL_VERSION,
                "experimentKey": self.experiment_key,
                "metric": self.metric,
                "treatment": self.treatment,
                "bucket": self.bucket,
                "bucketSeconds": self.bucket_seconds,
                "partition": self.partition,
            }
        )

    @classmethod
    def decode(cls, value: bytes) -> CellRecord:
        try:
            body = orjson.loads(value)
            if not isinstance(body, dict):
                raise TypeError("the record is not a JSON object")
            _check_version(body, CELL_VERSION)
            return cls(
                str(body["experimentKey"]),
                str(body["metric"]),
                str(body["treatment"]),
                int(body["bucket"]),
                int(body["bucketSeconds"]),
                int(body["partition"]),
                Cell.from_json(body),
            )
        except UnknownVersion:
            raise
        except (orjson.JSONDecodeError, *_ITEM_ERRORS) as exc:
            raise MalformedRecord(f"malformed aggregate cell: {exc}") from None


@dataclass(frozen=True, slots=True)
class SnapshotMark:
    """Closes one snapshot of one processor partition on the aggregates topic.

    A snapshot moves an entity between cells (its old point out of one bucket, its new one
    into another), so a reader that applied half of one would hold cells that describe no
    set of entities. The processor writes a partition's cells, waits for the broker, then
    this mark, all to the topic partition of the same number; a reader applies what it
    read of a partition only when it reaches the mark. Compaction keeps each cell's and
    the mark's newest record, in order, so a reader starting from the beginning sees the
    state as of the last complete snapshot.
    """

    partition: int

    def key(self) -> bytes:
        return f"{SNAPSHOT_MARK}|{self.partition}".encode()

    def encode(self) -> bytes:
        return serialization.dumps({"v": CELL_VERSION, SNAPSHOT_MARK: self.partition})


SNAPSHOT_MARK = "snapshotMark"
SNAPSHOT_RESET = "snapshotReset"


@dataclass(frozen=True, slots=True)
class SnapshotReset:
    """Opens a snapshot that replaces everything a partition published before: written
    before the cells of a partition rebuilt from its rows (after a restart or a
    rebalance). A reader that reaches the closing mark drops the partition's older cells
    first, so a cell that became empty, and was not republished, does not linger."""

    partition: int

    def key(self) -> bytes:
        return f"{SNAPSHOT_RESET}|{self.partition}".encode()

    def encode(self) -> bytes:
        return serialization.dumps({"v": CELL_VERSION, SNAPSHOT_RESET: self.partition})


def decode_aggregate(value: bytes) -> CellRecord | SnapshotMark | SnapshotReset:
    """A record of the aggregates topic: a cell, or a snapshot's opening reset or closing
    mark."""
    try:
        body = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise MalformedRecord(f"malformed aggregate record: {exc}") from None
    for name, kind in ((SNAPSHOT_MARK, SnapshotMark), (SNAPSHOT_RESET, SnapshotReset)):
        if isinstance(body, dict) and name in body:
            _check_version(body, CELL_VERSION)
            try:
                return kind(int(body[name]))
            except _ITEM_ERRORS as exc:
                raise MalformedRecord(f"malformed {name}: {exc}") from None
    return CellRecord.decode(value)


# -- verdict.quarantine -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuarantineRecord:
    """A record the processor set aside instead of applying, and why.

    ``payload`` is a record of ``source`` as it can be written there again: replaying it
    (``verdict quarantine replay``) is an ordinary delivery, and event ids make a replay
    of something already counted a no-op within the duplicate-detection horizon.
    """

    source: str
    reason: str
    stage: str  # which consumer set it aside: "router" or "join"
    at: float
    payload: bytes
    partition: int | None = None  # where a replay writes it; None: the producer's choice

    def encode(self) -> bytes:
        return serialization.dumps(
            {
                "v": VERSION,
                "source": self.source,
                "reason": self.reason,
                "stage": self.stage,
                "at": self.at,
                "payload": base64.b64encode(self.payload).decode(),
                "partition": self.partition,
            }
        )

    @classmethod
    def decode(cls, value: bytes) -> QuarantineRecord:
        try:
            body = orjson.loads(value)
            if not isinstance(body, dict):
                raise TypeError("the record is not a JSON object")
            _check_version(body)
            return cls(
                str(body["source"]),
                str(body["reason"]),
                str(body["stage"]),
                float(body["at"]),
                base64.b64decode(body["payload"], validate=True),
                None if body.get("partition") is None else int(body["partition"]),
            )
        except UnknownVersion:
            raise
        except (orjson.JSONDecodeError, binascii.Error, *_ITEM_ERRORS) as exc:
            raise MalformedRecord(f"malformed quarantine record: {exc}") from None


# A record the processor writes stays this far below Kafka's default 1 MiB message limit
# (the producer's max_request_size and the broker's message.max.bytes), batch headers
# included: a larger one fails at the broker on every retry, forever.
MAX_RECORD_BYTES = 512 * 1024


def encode_within(items: list[T], encode: Callable[[list[T]], bytes]) -> list[bytes]:
    """``items`` as one or more array records of at most ``MAX_RECORD_BYTES`` each.

    A single item over the limit is still one record of its own; the caller's limits on
    what an item may hold (``domain/limits.py``) keep that from happening.
    """
    record = encode(items)
    if len(record) <= MAX_RECORD_BYTES or len(items) < 2:
        return [record]
    half = len(items) // 2
    return encode_within(items[:half], encode) + encode_within(items[half:], encode)
