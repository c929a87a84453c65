"""EvaluateFeature, BatchEvaluateFeature and PutProjectEvents request shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from shared.wire.common import ResourceName, WireModel

EntityId = str


class EvaluateFeatureRequest(WireModel):
    project: str
    feature: ResourceName
    entityId: EntityId
    evaluationContext: str | None = None


class EvaluationRequest(WireModel):
    feature: ResourceName
    entityId: EntityId
    evaluationContext: str | None = None


class BatchEvaluateFeatureRequest(WireModel):
    project: str
    requests: list[dict[str, object]]


class Event(WireModel):
    type: Literal["aws.evidently.evaluation", "aws.evidently.custom"]
    timestamp: datetime
    data: str


class PutProjectEventsRequest(WireModel):
    project: str
    events: list[dict[str, object]]
