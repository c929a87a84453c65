"""Launch aggregate: groups, scheduled splits with segment overrides, CREATED→RUNNING→ended."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from shared.domain.errors import Conflict, Invalid, NotFound
from shared.domain.events import (
    LaunchConfig,
    LaunchCreated,
    LaunchDeleted,
    LaunchStarted,
    LaunchStopped,
    LaunchUpdated,
    TagsChanged,
)
from shared.domain.feature import Feature
from shared.domain.metrics import check_metric_definitions
from shared.domain.resources import ResourceKind, ResourceRef
from shared.domain.values import ENDED, EVERYONE, Status

TOTAL_WEIGHT = EVERYONE


@dataclass(frozen=True, slots=True)
class Launch:
    project: str
    name: str
    config: LaunchConfig
    tags: Mapping[str, str]
    status: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    status_reason: str | None = None
    version: int = 0
    deleted: bool = False

    @property
    def features(self) -> frozenset[str]:
        return frozenset(g.feature for g in self.config.groups)


def stream(project: str, name: str) -> str:
    return ResourceRef(ResourceKind.LAUNCH, project, name).stream


FeatureLookup = Callable[[str], Feature | None]


def check_config(config: LaunchConfig, feature: FeatureLookup, segments: Collection[str]) -> None:
    groups = [g.name for g in config.groups]
    if not 1 <= len(groups) <= 5:
        raise Invalid("a launch has 1 to 5 groups", field="groups")
    if len(set(groups)) != len(groups):
        raise Invalid("launch group names must be unique", field="groups")
    for g in config.groups:
        f = feature(g.feature)
        if f is None:
            raise NotFound(
                f"feature {g.feature} of group {g.name} does not exist", g.feature, "Feature"
            )
        if f.variation(g.variation) is None:
            raise Invalid(
                f"group {g.name}: feature {g.feature} has no variation {g.variation!r}",
                field="groups.variation",
            )
    if len(config.metric_monitors) > 3:
        raise Invalid("at most 3 metricMonitors", field="metricMonitors")
    check_metric_definitions(config.metric_monitors, "metricMonitors")
    if not 1 <= len(config.steps) <= 6:
        raise Invalid("scheduledSplitsConfig has 1 to 6 steps", field="steps")
    starts = [s.start_time for s in config.steps]
    if starts != sorted(starts) or len(set(starts)) != len(starts):
        raise Invalid(
            "scheduled steps must have strictly increasing startTime", field="steps.startTime"
        )
    for step in config.steps:
        _check_weights(step.group_weights, groups, "steps.groupWeights")
        orders = [o.evaluation_order for o in step.segment_overrides]
        if len(set(orders)) != len(orders):
            raise Invalid(
                "segment overrides need distinct evaluationOrder", field="segmentOverrides"
            )
        for override in step.segment_overrides:
            if override.segment not in segments:
                raise NotFound(
                    f"segment {override.segment} does not exist", override.segment, "Segment"
                )
            _check_weights(override.weights, groups, "segmentOverrides.weights")


def _check_weights(weights: Mapping[str, int], groups: list[str], field: str) -> None:
    unknown = sorted(set(weights) - set(groups))
    if unknown:
        raise Invalid(f"{field} names unknown groups {unknown}", field=field)
    if any(not 0 <= w <= TOTAL_WEIGHT for w in weights.values()):
        raise Invalid(f"{field} weights are 0 to {TOTAL_WEIGHT}", field=field)
    if sum(weights.values()) > TOTAL_WEIGHT:
        raise Invalid(
            f"{field} weights sum to {sum(weights.values())}, more than {TOTAL_WEIGHT}",
            field=field,
        )


def create_launch(
    existing: Launch | None,
    *,
    project: str,
    name: str,
    config: LaunchConfig,
    tags: Mapping[str, str],
    feature: FeatureLookup,
    segments: Collection[str],
    now: datetime,
) -> list[LaunchCreated]:
    if existing is not None and not existing.deleted:
        raise Conflict(f"launch {name} already exists in project {project}", name, "Launch")
    check_config(config, feature, segments)
    return [LaunchCreated(now, project, name, config, dict(tags))]


def update_launch(
    launch: Launch,
    config: LaunchConfig,
    *,
    feature: FeatureLookup,
    segments: Collection[str],
    now: datetime,
) -> list[LaunchUpdated]:
    if launch.status in ENDED:
        raise Conflict(
            f"launch {launch.name} is {launch.status} and can no longer change",
            launch.name,
            "Launch",
        )
    check_config(config, feature, segments)
    return [LaunchUpdated(now, config)]


def start_launch(
    launch: Launch, *, features_in_running_launches: Collection[str], now: datetime
) -> list[LaunchStarted]:
    if launch.status != Status.CREATED:
        raise Conflict(
            f"launch {launch.name} is {launch.status}; only a CREATED launch can start",
            launch.name,
            "Launch",
        )
    busy = sorted(launch.features & set(features_in_running_launches))
    if busy:
        raise Conflict(f"features {busy} already have a running launch", launch.name, "Launch")
    return [LaunchStarted(now)]


def stop_launch(
    launch: Launch, *, desired_state: str | None, reason: str | None, now: datetime
) -> list[LaunchStopped]:
    # StopLaunch documents no Conflict: stopping a launch that is not
    # running is a Invalid.
    if launch.status != Status.RUNNING:
        raise Invalid(f"launch {launch.name} is {launch.status}, not RUNNING", field="launch")
    return [LaunchStopped(now, desired_state or Status.COMPLETED, reason)]


def delete_launch(launch: Launch, now: datetime) -> list[LaunchDeleted]:
    if launch.status == Status.RUNNING:
        raise Conflict(
            f"launch {launch.name} is running; stop it before deleting it", launch.name, "Launch"
        )
    return [LaunchDeleted(now)]


def apply(launch: Launch | None, event: object, version: int) -> Launch | None:
    match event:
        case LaunchCreated():
            return Launch(
                project=event.project,
                name=event.name,
                config=event.config,
                tags=dict(event.tags),
                status=Status.CREATED,
                created_at=event.at,
                updated_at=event.at,
                version=version,
            )
        case LaunchUpdated() if launch is not None:
            return replace(launch, config=event.config, updated_at=event.at, version=version)
        case LaunchStarted() if launch is not None:
            return replace(
                launch,
                status=Status.RUNNING,
                started_at=event.at,
                updated_at=event.at,
                version=version,
            )
        case LaunchStopped() if launch is not None:
            return replace(
                launch,
                status=event.desired_state,
                ended_at=event.at,
                status_reason=event.reason,
                updated_at=event.at,
                version=version,
            )
        case LaunchDeleted() if launch is not None:
            return replace(launch, deleted=True, updated_at=event.at, version=version)
        case TagsChanged() if launch is not None:
            return replace(launch, tags=dict(event.tags), version=version)
    return launch
