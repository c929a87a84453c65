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

    def encode(self) -> bytes:
        o = self.observation
        return serialization.dumps(
            {
                "k": o.experiment_key,
                "m": o.metric,
                "e": o.entity_id,
                "v": o.value,
                "ts": self.timestamp,
                "id": self.event_id,
            }
        )

    @classmethod
    def decode(cls, raw: bytes) -> ObservationRecord:
        b = orjson.loads(raw)
        return cls(Observation(b["k"], b["m"], b["e"], float(b["v"])), float(b["ts"]), int(b["id"]))


@dataclass(frozen=True, slots=True)
class AssignmentRecord:
    experiment_key: str
    entity_id: str
    treatment: str
    timestamp: float


def decode_assignment(raw: bytes) -> AssignmentRecord | None:
    """Experiment assignments; launch assignments are not analysed."""
    try:
        b = orjson.loads(raw)
        if b.get("kind") != "experiment" or not b.get("experimentKey"):
            return None
        return AssignmentRecord(
            str(b["experimentKey"]), str(b["entityId"]), str(b["treatment"]), float(b["timestamp"])
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise MalformedRecord(f"malformed assignment: {exc}") from None
