"""The metric event as it travels on verdict.events (schema in the README)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from shared.errors import ValidationException


@dataclass(frozen=True, slots=True)
class MetricEvent:
    event_id: str
    project: str
    type: str
    timestamp: float
    data: dict[str, Any]
    entity_id: str | None


def decode_metric_event(raw: bytes) -> MetricEvent:
    try:
        body = orjson.loads(raw)
        return MetricEvent(
            event_id=str(body["eventId"]),
            project=str(body["project"]),
            type=str(body.get("type", "aws.evidently.custom")),
            timestamp=float(body["timestamp"]),
            data=dict(body["data"]),
            entity_id=body.get("entityId"),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValidationException(f"malformed metric event: {exc}") from None


def numeric_fields(data: dict[str, Any]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in data.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    }
