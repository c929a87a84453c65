"""The configuration view: every aggregate's current state, folded from the log.

The command service reads from it; the evaluation service keeps one in memory
as its hot-path configuration. Deleted resources stay (flagged) so a re-create
continues the stream at the right version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from shared.domain import access as access_agg
from shared.domain import experiment as experiment_agg
from shared.domain import feature as feature_agg
from shared.domain import launch as launch_agg
from shared.domain import project as project_agg
from shared.domain import segment as segment_agg
from shared.domain.access import AccessKey
from shared.domain.codec import encode, from_json
from shared.domain.events import EVENT_TYPES, SCHEMA_VERSIONS
from shared.domain.experiment import Experiment
from shared.domain.feature import Feature
from shared.domain.launch import Launch
from shared.domain.project import Project
from shared.domain.resources import ResourceKind, ResourceRef
from shared.domain.segment import Segment
from shared.domain.values import Status
from shared.envelope import Envelope, NewEvent

R = TypeVar("R")
Key = tuple[str, str]


def to_new_event(event: object, metadata: dict[str, Any] | None = None) -> NewEvent:
    name = type(event).__name__
    return NewEvent(
        type=name,
        payload=encode(event),
        schema_version=SCHEMA_VERSIONS.get(name, 1),
        metadata=metadata or {},
    )


def decode_event(envelope: Envelope) -> object | None:
    """The domain event, or None for a type this version does not know."""
    event_type = EVENT_TYPES.get(envelope.type)
    return None if event_type is None else from_json(event_type, envelope.payload)


def _live(value: R | None) -> R | None:
    return None if value is None or getattr(value, "deleted", False) else value


@dataclass
class ConfigView:
    projects: dict[str, Project] = field(default_factory=dict)
    features: dict[Key, Feature] = field(default_factory=dict)
    launches: dict[Key, Launch] = field(default_factory=dict)
    experiments: dict[Key, Experiment] = field(default_factory=dict)
    segments: dict[str, Segment] = field(default_factory=dict)
    access_keys: dict[str, AccessKey] = field(default_factory=dict)
    position: int = 0
    unknown_events: int = 0
    # Called with (kind, key) after each applied event: lets a reader keep
    # derived state (compiled patterns, per-feature rule lists) current.
    listeners: list[Callable[[str, Any], None]] = field(default_factory=list)

    def project(self, name: str) -> Project | None:
        return _live(self.projects.get(name))

    def feature(self, project: str, name: str) -> Feature | None:
        return _live(self.features.get((project, name)))

    def launch(self, project: str, name: str) -> Launch | None:
        return _live(self.launches.get((project, name)))

    def experiment(self, project: str, name: str) -> Experiment | None:
        return _live(self.experiments.get((project, name)))

    def segment(self, name: str) -> Segment | None:
        return _live(self.segments.get(name))

    def live_features(self, project: str) -> Iterator[Feature]:
        return (f for (p, _), f in self.features.items() if p == project and not f.deleted)

    def live_launches(self, project: str) -> Iterator[Launch]:
        return (x for (p, _), x in self.launches.items() if p == project and not x.deleted)

    def live_experiments(self, project: str) -> Iterator[Experiment]:
        return (x for (p, _), x in self.experiments.items() if p == project and not x.deleted)

    def live_segments(self) -> Iterator[Segment]:
        return (s for s in self.segments.values() if not s.deleted)

    def launches_of_feature(self, project: str, feature: str) -> list[Launch]:
        return [x for x in self.live_launches(project) if feature in x.features]

    def experiments_of_feature(self, project: str, feature: str) -> list[Experiment]:
        return [x for x in self.live_experiments(project) if x.feature == feature]

    def segment_launches(self, segment: str) -> list[Launch]:
        return [
            x
            for x in self.launches.values()
            if not x.deleted
            and any(o.segment == segment for s in x.config.steps for o in s.segment_overrides)
        ]

    def segment_experiments(self, segment: str) -> list[Experiment]:
        return [
            x for x in self.experiments.values() if not x.deleted and x.config.segment == segment
        ]

    def counters(self, project: str, now: datetime) -> dict[str, int]:
        launches = list(self.live_launches(project))
        experiments = list(self.live_experiments(project))
        return {
            "featureCount": sum(1 for _ in self.live_features(project)),
            "launchCount": len(launches),
            "activeLaunchCount": sum(1 for x in launches if x.status == Status.RUNNING),
            "experimentCount": len(experiments),
            "activeExperimentCount": sum(
                1 for x in experiments if x.status_at(now) == Status.RUNNING
            ),
        }


def apply(view: ConfigView, envelope: Envelope) -> ConfigView:
    event = decode_event(envelope)
    if event is None:
        # Written by a newer version (or another tool): skip it, keep following.
        view.unknown_events += 1
        view.position = envelope.position
        return view
    try:
        ref = ResourceRef.from_stream(envelope.stream)
    except ValueError:  # a stream of no kind this version knows: skip it too
        view.unknown_events += 1
        view.position = envelope.position
        return view
    kind = ref.kind.value
    version = envelope.version
    changed: Any = ref.name
    if ref.kind is ResourceKind.PROJECT:
        if (p := project_agg.apply(view.projects.get(ref.name), event, version)) is not None:
            view.projects[ref.name] = p
    elif ref.kind is ResourceKind.SEGMENT:
        if (s := segment_agg.apply(view.segments.get(ref.name), event, version)) is not None:
            view.segments[ref.name] = s
    elif ref.kind is ResourceKind.ACCESS_KEY:
        if (k := access_agg.apply(view.access_keys.get(ref.name), event, version)) is not None:
            view.access_keys[ref.name] = k
    else:
        changed = (ref.project or "", ref.name)
        if ref.kind is ResourceKind.FEATURE:
            if (f := feature_agg.apply(view.features.get(changed), event, version)) is not None:
                view.features[changed] = f
        elif ref.kind is ResourceKind.LAUNCH:
            if (la := launch_agg.apply(view.launches.get(changed), event, version)) is not None:
                view.launches[changed] = la
        elif ref.kind is ResourceKind.EXPERIMENT:
            ex = experiment_agg.apply(view.experiments.get(changed), event, version)
            if ex is not None:
                view.experiments[changed] = ex
    view.position = envelope.position
    for listener in view.listeners:
        listener(kind, changed)
    return view
