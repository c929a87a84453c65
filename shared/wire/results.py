"""GetExperimentResults request shape, and the analysis endpoint's query."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from shared.wire.common import ResourceName, WireModel

ResultStat = Literal["BaseStat", "TreatmentEffect", "ConfidenceInterval", "PValue"]


class GetExperimentResultsRequest(WireModel):
    project: str
    experiment: ResourceName
    metricNames: list[str]
    treatmentNames: list[ResourceName]
    baseStat: Literal["Mean"] | None = None
    resultStats: list[ResultStat] | None = None
    reportNames: list[Literal["BayesianInference"]] | None = None
    # The model says 300..90000; Verdict takes any period from 60 s (its cells roll
    # up from minutes) and caps the number of looks instead.
    period: int | None = None
    startTime: datetime | None = None
    endTime: datetime | None = None
