"""Launch request shapes (CreateLaunch, UpdateLaunch, StopLaunch)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from shared.wire.common import Description, ResourceName, Salt, SplitWeight, Tags, WireModel
from shared.wire.metrics import MetricDefinitionConfig

GroupWeights = Annotated[dict[ResourceName, SplitWeight], Field(max_length=5)]


class LaunchGroupConfig(WireModel):
    name: ResourceName
    description: Description | None = None
    feature: ResourceName
    variation: ResourceName


class MetricMonitorConfig(WireModel):
    metricDefinition: MetricDefinitionConfig


class SegmentOverride(WireModel):
    segment: Annotated[str, Field(max_length=2048)]
    evaluationOrder: int
    weights: GroupWeights


class ScheduledSplitConfig(WireModel):
    startTime: datetime
    groupWeights: GroupWeights
    segmentOverrides: Annotated[list[SegmentOverride], Field(max_length=6)] = Field(
        default_factory=list
    )


class ScheduledSplitsLaunchConfig(WireModel):
    steps: Annotated[list[ScheduledSplitConfig], Field(min_length=1, max_length=6)]


class CreateLaunchRequest(WireModel):
    project: str
    name: ResourceName
    description: Description | None = None
    groups: Annotated[list[LaunchGroupConfig], Field(min_length=1, max_length=5)]
    metricMonitors: Annotated[list[MetricMonitorConfig], Field(max_length=3)] = Field(
        default_factory=list
    )
    randomizationSalt: Salt | None = None
    scheduledSplitsConfig: ScheduledSplitsLaunchConfig | None = None
    tags: Tags = Field(default_factory=dict)


class UpdateLaunchRequest(WireModel):
    project: str
    launch: ResourceName
    description: Description | None = None
    groups: Annotated[list[LaunchGroupConfig], Field(min_length=1, max_length=5)] | None = None
    metricMonitors: Annotated[list[MetricMonitorConfig], Field(max_length=3)] | None = None
    randomizationSalt: Salt | None = None
    scheduledSplitsConfig: ScheduledSplitsLaunchConfig | None = None


class StopLaunchRequest(WireModel):
    project: str
    launch: ResourceName
    desiredState: Literal["COMPLETED", "CANCELLED"] | None = None
    reason: Description | None = None
