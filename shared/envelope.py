"""The event envelope: what the event store records and the feed delivers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event about to be appended; the store assigns version and position."""

    type: str
    payload: dict[str, Any]
    schema_version: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Envelope:
    stream: str
    version: int
    position: int
    type: str
    schema_version: int
    occurred_at: datetime
    payload: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)


# (type, schema_version) -> function lifting a payload to schema_version + 1.
# A stored event never changes meaning: a new shape bumps schema_version and
# registers here, and readers only ever see the newest shape.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def upcast(envelope: Envelope) -> Envelope:
    current = envelope
    while (step := UPCASTERS.get((current.type, current.schema_version))) is not None:
        current = replace(
            current, payload=step(current.payload), schema_version=current.schema_version + 1
        )
    return current
