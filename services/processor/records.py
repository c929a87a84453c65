"""The records on the processor's topics (schemas in the README, "Topics")."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import mmh3
import orjson

from shared import serialization
from shared.domain.observations import Observation


class MalformedRecord(ValueError):
    pass


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


def finite(value: Any, name: str) -> float:
    """A float that arithmetic can use: "nan" and "inf" pass float() but would poison
    every aggregate they reach, and JSON cannot carry them onward."""
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} is not a finite number: {value!r}")
    return number


def decode_metric_event(raw: bytes) -> MetricEvent:
    try:
        body = orjson.loads(raw)
        if not isinstance(body, dict):
            raise TypeError("the record is not a JSON object")
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
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, OverflowError) as exc:
        raise MalformedRecord(f"malformed metric event: {exc}") from None


@dataclass(frozen=True, slots=True)
class ObservationRecord:
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

    @classmethod
    def from_json(cls, b: Any) -> ObservationRecord:
        return cls(
            Observation(str(b["k"]), str(b["m"]), str(b["e"]), finite(b["v"], "value")),
            finite(b["ts"], "timestamp"),
            int(b["id"]),
        )


# Items per array record on verdict.observations (~100 B each), and per record the
# join moves to its entity partition: well under the producer's 256 KB batches.
ITEMS_PER_RECORD = 500


def encode_observations(records: list[ObservationRecord]) -> bytes:
    return serialization.dumps([r.to_json() for r in records])


T = TypeVar("T")
_ITEM_ERRORS = (KeyError, TypeError, ValueError, AttributeError, OverflowError)


@dataclass(frozen=True, slots=True)
class Decoded(Generic[T]):
    """The good items of an array record, and how many were skipped as malformed: one bad
    item never costs the others in its record."""

    items: list[T]
    malformed: int = 0


def _array(raw: bytes, what: str) -> list[Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise MalformedRecord(f"malformed {what}: {exc}") from None
    # A single object is how records were written before they were batched.
    return body if isinstance(body, list) else [body]


def decode_observations(raw: bytes) -> Decoded[ObservationRecord]:
    """One record on ``verdict.observations``."""
    items: list[ObservationRecord] = []
    malformed = 0
    for item in _array(raw, "observation"):
        try:
            items.append(ObservationRecord.from_json(item))
        except _ITEM_ERRORS:
            malformed += 1
    return Decoded(items, malformed)


@dataclass(frozen=True, slots=True)
class AssignmentRecord:
    experiment_key: str
    entity_id: str
    treatment: str
    timestamp: float
    request_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The fields of the evaluation service's assignment event that the join reads."""
        return {
            "kind": "experiment",
            "experimentKey": self.experiment_key,
            "entityId": self.entity_id,
            "treatment": self.treatment,
            "timestamp": self.timestamp,
            "requestId": self.request_id,
        }


def _assignment(b: Any) -> AssignmentRecord | None:
    if b.get("kind") != "experiment" or not b.get("experimentKey"):
        return None  # launch assignments are not analysed
    request_id = b.get("requestId")
    return AssignmentRecord(
        str(b["experimentKey"]),
        str(b["entityId"]),
        str(b["treatment"]),
        finite(b["timestamp"], "timestamp"),
        request_id if isinstance(request_id, str) else None,
    )


def decode_assignments(raw: bytes) -> Decoded[AssignmentRecord]:
    """The experiment assignments in one record on ``verdict.assignments``."""
    items: list[AssignmentRecord] = []
    malformed = 0
    for item in _array(raw, "assignment"):
        try:
            one = _assignment(item)
        except _ITEM_ERRORS:
            malformed += 1
            continue
        if one is not None:
            items.append(one)
    return Decoded(items, malformed)
