"""Value types shared by features, launches and experiments."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from enum import StrEnum

# Evidently's weights and rates are thousandths of a percent: 100000 is everyone. Hash
# buckets, treatment and group weights and sampling rates all count in these units.
EVERYONE = 100_000


class Status(StrEnum):
    """A launch's or an experiment's status: the model's LaunchStatus and ExperimentStatus."""

    CREATED = "CREATED"
    UPDATING = "UPDATING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


ENDED = frozenset({Status.COMPLETED, Status.CANCELLED})


class EndedReason(StrEnum):
    """Seed 004's reasons an experiment ended (StopExperiment's ``endedReason``)."""

    SUCCESS = "success"
    TECH_ISSUE = "tech_issue"
    NO_LONGER_NEEDED = "no_longer_needed"
    NO_STAT_SIG = "no_stat_sig"
    OTHER = "other"


class ProjectStatus(StrEnum):
    AVAILABLE = "AVAILABLE"
    UPDATING = "UPDATING"


class ValueType(enum.Enum):
    STRING = "STRING"
    LONG = "LONG"
    DOUBLE = "DOUBLE"
    BOOLEAN = "BOOLEAN"


@dataclass(frozen=True, slots=True)
class VariableValue:
    type: ValueType
    value: bool | int | float | str


@dataclass(frozen=True, slots=True)
class Variation:
    name: str
    value: VariableValue
