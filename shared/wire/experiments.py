"""Experiment request shapes, with Verdict's optional analysis fields (seed 004)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from shared.wire.common import Description, ResourceName, Salt, SplitWeight, Tags, WireModel
from shared.wire.metrics import MetricDefinitionConfig


class TreatmentConfig(WireModel):
    name: ResourceName
    description: Description | None = None
    feature: ResourceName
    variation: ResourceName


class MetricGoalConfig(WireModel):
    metricDefinition: MetricDefinitionConfig
    desiredChange: Literal["INCREASE", "DECREASE"] | None = None


class OnlineAbConfig(WireModel):
    controlTreatmentName: ResourceName | None = None
    treatmentWeights: dict[ResourceName, SplitWeight] | None = None


class AnalysisConfig(WireModel):
    """Not in Evidently's model: boto3 never sends it; raw HTTP clients may."""

    method: Literal["sequential", "ttest"] | None = None
    confidenceLevel: Annotated[float, Field(ge=0.5, lt=1.0)] | None = None
    correction: Literal["holm", "bonferroni", "bh", "none"] | None = None
    oneSided: bool | None = None
    tuningSampleSize: Annotated[int, Field(ge=1)] | None = None
    priorMean: float | None = None
    priorVariance: Annotated[float, Field(gt=0)] | None = None


class CreateExperimentRequest(WireModel):
    project: str
    name: ResourceName
    description: Description | None = None
    treatments: Annotated[list[TreatmentConfig], Field(min_length=1, max_length=5)]
    metricGoals: Annotated[list[MetricGoalConfig], Field(min_length=1, max_length=3)]
    onlineAbConfig: OnlineAbConfig | None = None
    randomizationSalt: Salt | None = None
    samplingRate: SplitWeight | None = None
    segment: Annotated[str, Field(max_length=2048)] | None = None
    tags: Tags = Field(default_factory=dict)
    analysisConfig: AnalysisConfig | None = None
    stickyAssignment: bool | None = None


class UpdateExperimentRequest(WireModel):
    project: str
    experiment: ResourceName
    description: Description | None = None
    treatments: Annotated[list[TreatmentConfig], Field(min_length=1, max_length=5)] | None = None
    metricGoals: Annotated[list[MetricGoalConfig], Field(min_length=1, max_length=3)] | None = None
    onlineAbConfig: OnlineAbConfig | None = None
    randomizationSalt: Salt | None = None
    samplingRate: SplitWeight | None = None
    segment: Annotated[str, Field(max_length=2048)] | None = None
    removeSegment: bool | None = None
    analysisConfig: AnalysisConfig | None = None
    stickyAssignment: bool | None = None


class StartExperimentRequest(WireModel):
    project: str
    experiment: ResourceName
    analysisCompleteTime: datetime


class StopExperimentRequest(WireModel):
    project: str
    experiment: ResourceName
    desiredState: Literal["COMPLETED", "CANCELLED"] | None = None
    reason: Description | None = None
    endedReason: (
        Literal["success", "tech_issue", "no_longer_needed", "no_stat_sig", "other"] | None
    ) = None


class DeclareWinnerRequest(WireModel):
    project: str
    experiment: ResourceName
    treatment: ResourceName
