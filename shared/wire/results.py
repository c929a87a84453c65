"""GetExperimentResults request shape, and the analysis endpoint's query."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from shared.wire.common import ResourceName, WireModel

ResultStat = Literal["BaseStat", "TreatmentEffect", "ConfidenceInterval", "PValue"]


class GetExperimentResultsRequest(WireModel):
    project: str
    experiment: ResourceName
    metricNames: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=255)]], Field(min_length=1, max_length=1)
    ]
    treatmentNames: Annotated[list[ResourceName], Field(min_length=1, max_length=5)]
    baseStat: Literal["Mean"] | None = None
    resultStats: Annotated[list[ResultStat], Field(max_length=5)] | None = None
    reportNames: Annotated[list[Literal["BayesianInference"]], Field(max_length=5)] | None = None
    # The model says 300..90000; Verdict also takes shorter periods (any multiple
    # of its bucket) for fine series, and caps the number of looks instead.
    period: Annotated[int, Field(ge=1, le=90_000)] | None = None
    startTime: datetime | None = None
    endTime: datetime | None = None
