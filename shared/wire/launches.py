"""Launch request shapes (CreateLaunch, UpdateLaunch, StopLaunch)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.wire.common import Description, ResourceName, Salt, SplitWeight, Tags, WireModel
from shared.wire.metrics import MetricDefinitionConfig

GroupWeights = dict[ResourceName, SplitWeight]


class LaunchGroupConfig(WireModel):
    name: ResourceName
    description: Description | None = None
    feature: ResourceName
    variation: ResourceName


class MetricMonitorConfig(WireModel):
    metricDefinition: MetricDefinitionConfig


class SegmentOverride(WireModel):
    segment: str
    evaluationOrder: int
    weights: GroupWeights


class ScheduledSplitConfig(WireModel):
    startTime: datetime
    groupWeights: GroupWeights
    segmentOverrides: list[SegmentOverride] = Field(default_factory=list)


class ScheduledSplitsLaunchConfig(WireModel):
    steps: list[ScheduledSplitConfig]


class CreateLaunchRequest(WireModel):
    project: str
    name: ResourceName
    description: Description | None = None
    groups: list[LaunchGroupConfig]
    metricMonitors: list[MetricMonitorConfig] = Field(default_factory=list)
    randomizationSalt: Salt | None = None
    scheduledSplitsConfig: ScheduledSplitsLaunchConfig | None = None
    tags: Tags = Field(default_factory=dict)


class UpdateLaunchRequest(WireModel):
    project: str
    launch: ResourceName
    description: Description | None = None
    groups: list[LaunchGroupConfig] | None = None
    metricMonitors: list[MetricMonitorConfig] | None = None
    randomizationSalt: Salt | None = None
    scheduledSplitsConfig: ScheduledSplitsLaunchConfig | None = None


class StopLaunchRequest(WireModel):
    project: str
    launch: ResourceName
    desiredState: Literal["COMPLETED", "CANCELLED"] | None = None
    reason: Description | None = None
