"""The records on the processor's topics (schemas in the README, "Topics")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def decode_metric_event(raw: bytes) -> MetricEvent:
    try:
        body = orjson.loads(raw)
        data = body["data"]
        if isinstance(data, str):
            data = orjson.loads(data)
        if not isinstance(data, dict):
            raise TypeError("data is not a JSON object")
        return MetricEvent(
            event_id=event_id_hash(body.get("eventId"), raw),
            project=str(body["project"]),
            timestamp=float(body["timestamp"]),
            data=data,
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
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
        return cls(Observation(b["k"], b["m"], b["e"], float(b["v"])), float(b["ts"]), int(b["id"]))


def encode_observations(records: list[ObservationRecord]) -> bytes:
    return serialization.dumps([r.to_json() for r in records])


def decode_observations(raw: bytes) -> list[ObservationRecord]:
    """One record on ``verdict.observations``: a JSON array, or one object as written
    before observations were batched."""
    try:
        body = orjson.loads(raw)
        items = body if isinstance(body, list) else [body]
        return [ObservationRecord.from_json(b) for b in items]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise MalformedRecord(f"malformed observation: {exc}") from None


@dataclass(frozen=True, slots=True)
class AssignmentRecord:
    experiment_key: str
    entity_id: str
    treatment: str
    timestamp: float
    request_id: str | None = None


def decode_assignments(raw: bytes) -> list[AssignmentRecord]:
    """The experiment assignments in one record: a JSON array of assignment objects (as
    the evaluation service batches them) or a single object. Launch assignments are not
    analysed."""
    try:
        body = orjson.loads(raw)
        items = body if isinstance(body, list) else [body]
        return [
            AssignmentRecord(
                str(b["experimentKey"]),
                str(b["entityId"]),
                str(b["treatment"]),
                float(b["timestamp"]),
                b.get("requestId"),
            )
            for b in items
            if b.get("kind") == "experiment" and b.get("experimentKey")
        ]
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedRecord(f"malformed assignment: {exc}") from None
