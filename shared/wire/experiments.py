"""Experiment request shapes, with Verdict's optional analysis fields (seed 004)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from shared.domain.stats.vocabulary import (
    AnalysisMethod,
    CapKind,
    CorrectionName,
    DesiredChange,
    EffectScale,
    FormulaOperator,
    MetricRole,
    MetricType,
    PriorKind,
)
from shared.domain.values import EndedReason
from shared.wire.common import (
    Description,
    JsonPath,
    ResourceName,
    Salt,
    SplitWeight,
    Tags,
    WireModel,
)
from shared.wire.metrics import MetricDefinitionConfig


class TreatmentConfig(WireModel):
    name: ResourceName
    description: Description | None = None
    feature: ResourceName
    variation: ResourceName


class MetricCap(WireModel):
    kind: CapKind
    value: float


class MetricFormula(WireModel):
    operator: FormulaOperator
    numerator: str
    denominator: str


class MetricGoalConfig(WireModel):
    """Evidently's goal; the members after ``desiredChange`` are Verdict's (README, "Beyond
    Evidently's wire"): boto3 never sends them; raw HTTP clients may."""

    metricDefinition: MetricDefinitionConfig
    desiredChange: DesiredChange | None = None
    metricType: MetricType | None = None
    role: MetricRole | None = None
    goal: float | None = None
    conversionWindowSeconds: int | None = None
    cap: MetricCap | None = None
    funnelSteps: list[str] | None = None
    formula: MetricFormula | None = None
    retentionDay: int | None = None


class ExposureEvent(WireModel):
    eventPattern: str
    entityIdKey: JsonPath


class OnlineAbConfig(WireModel):
    controlTreatmentName: ResourceName | None = None
    treatmentWeights: dict[ResourceName, SplitWeight] | None = None


class AnalysisConfig(WireModel):
    """Not in Evidently's model: boto3 never sends it; raw HTTP clients may."""

    method: AnalysisMethod | None = None
    confidenceLevel: float | None = None
    correction: CorrectionName | None = None
    oneSided: bool | None = None
    tuningSampleSize: int | None = None
    priorMean: float | None = None
    priorVariance: float | None = None
    effect: EffectScale | None = None
    cuped: bool | None = None
    cupedWindowDays: int | None = None
    prior: PriorKind | None = None


class CreateExperimentRequest(WireModel):
    project: str
    name: ResourceName
    description: Description | None = None
    treatments: list[TreatmentConfig]
    metricGoals: list[MetricGoalConfig]
    onlineAbConfig: OnlineAbConfig | None = None
    randomizationSalt: Salt | None = None
    samplingRate: SplitWeight | None = None
    segment: str | None = None
    tags: Tags = Field(default_factory=dict)
    analysisConfig: AnalysisConfig | None = None
    stickyAssignment: bool | None = None
    exposureEvent: ExposureEvent | None = None
    hypothesis: str | None = None
    links: dict[str, str] | None = None
    subjectType: str | None = None
    parentId: str | None = None


class UpdateExperimentRequest(WireModel):
    project: str
    experiment: ResourceName
    description: Description | None = None
    treatments: list[TreatmentConfig] | None = None
    metricGoals: list[MetricGoalConfig] | None = None
    onlineAbConfig: OnlineAbConfig | None = None
    randomizationSalt: Salt | None = None
    samplingRate: SplitWeight | None = None
    segment: str | None = None
    removeSegment: bool | None = None
    analysisConfig: AnalysisConfig | None = None
    stickyAssignment: bool | None = None
    exposureEvent: ExposureEvent | None = None
    removeExposureEvent: bool | None = None
    hypothesis: str | None = None
    links: dict[str, str] | None = None
    subjectType: str | None = None
    parentId: str | None = None


class StartExperimentRequest(WireModel):
    project: str
    experiment: ResourceName
    analysisCompleteTime: datetime


class StopExperimentRequest(WireModel):
    project: str
    experiment: ResourceName
    desiredState: Literal["COMPLETED", "CANCELLED"] | None = None
    reason: Description | None = None
    endedReason: EndedReason | None = None


class DeclareWinnerRequest(WireModel):
    project: str
    experiment: ResourceName
    treatment: ResourceName
