"""EvaluateFeature, BatchEvaluateFeature and PutProjectEvents request shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from shared.wire.common import ResourceName, WireModel

EntityId = Annotated[str, Field(min_length=1, max_length=512)]


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
    requests: Annotated[list[dict[str, object]], Field(min_length=1, max_length=20)]


class Event(WireModel):
    type: Literal["aws.evidently.evaluation", "aws.evidently.custom"]
    timestamp: datetime
    data: str


class PutProjectEventsRequest(WireModel):
    project: str
    events: Annotated[list[dict[str, object]], Field(min_length=0, max_length=50)]
