"""The configuration view: every aggregate's current state, folded from the log.

The command service reads from it; the evaluation service keeps one in memory
as its hot-path configuration. Deleted resources stay (flagged) so a re-create
continues the stream at the right version.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from shared.domain import feature as feature_agg
from shared.domain import project as project_agg
from shared.domain.codec import encode, from_json
from shared.domain.events import EVENT_TYPES
from shared.domain.feature import Feature
from shared.domain.project import Project
from shared.envelope import Envelope, NewEvent

R = TypeVar("R")


def to_new_event(event: object, metadata: dict[str, Any] | None = None) -> NewEvent:
    return NewEvent(type=type(event).__name__, payload=encode(event), metadata=metadata or {})


def decode_event(envelope: Envelope) -> object:
    return from_json(EVENT_TYPES[envelope.type], envelope.payload)


@dataclass
class ConfigView:
    projects: dict[str, Project] = field(default_factory=dict)
    features: dict[tuple[str, str], Feature] = field(default_factory=dict)
    position: int = 0

    def project(self, name: str) -> Project | None:
        p = self.projects.get(name)
        return None if p is None or p.deleted else p

    def feature(self, project: str, name: str) -> Feature | None:
        f = self.features.get((project, name))
        return None if f is None or f.deleted else f

    def live_features(self, project: str) -> Iterator[Feature]:
        return (f for (p, _), f in self.features.items() if p == project and not f.deleted)


def apply(view: ConfigView, envelope: Envelope) -> ConfigView:
    event = decode_event(envelope)
    kind, _, key = envelope.stream.partition("-")
    if kind == "project":
        state = project_agg.apply(view.projects.get(key), event, envelope.version)
        if state is not None:
            view.projects[key] = state
    elif kind == "feature":
        project, _, name = key.partition("/")
        fstate = feature_agg.apply(view.features.get((project, name)), event, envelope.version)
        if fstate is not None:
            view.features[(project, name)] = fstate
    view.position = envelope.position
    return view
