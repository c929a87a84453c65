"""Every configuration change, as a past-tense event.

A stored event type never changes meaning: a new shape gets a new
``schema_version`` and an upcaster in ``shared.envelope``.
"""

from __future__ import annotations

import hashlib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from shared.domain.stats.vocabulary import (
    AnalysisMethod,
    CapKind,
    CorrectionName,
    DesiredChange,
    EffectScale,
    FormulaOperator,
    MetricRole,
    MetricType,
)
from shared.domain.values import Variation
from shared.envelope import UPCASTERS


@dataclass(frozen=True, slots=True)
class DataDelivery:
    cloudwatch_log_group: str | None = None
    s3_bucket: str | None = None
    s3_prefix: str | None = None


@dataclass(frozen=True, slots=True)
class AppConfigResource:
    application_id: str
    environment_id: str
    # Events stored before Verdict minted one carry None; ``profile_id`` derives it.
    configuration_profile_id: str | None = None

    def profile_id(self, project: str) -> str:
        """The AppConfig configuration profile Evidently would have created for the project.

        The model requires it and allows ``[a-z0-9]{4,7}``: seven base-36 digits of a
        digest of (project, application, environment), so it is the same every time.
        """
        if self.configuration_profile_id:
            return self.configuration_profile_id
        key = f"{project}\0{self.application_id}\0{self.environment_id}".encode()
        number = int.from_bytes(hashlib.sha256(key).digest()[:8], "big")
        digits = []
        for _ in range(7):
            number, digit = divmod(number, 36)
            digits.append("0123456789abcdefghijklmnopqrstuvwxyz"[digit])
        return "".join(digits)


# -- projects -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProjectCreated:
    at: datetime
    name: str
    description: str | None
    tags: Mapping[str, str]
    data_delivery: DataDelivery | None
    app_config_resource: AppConfigResource | None


@dataclass(frozen=True, slots=True)
class ProjectUpdated:
    at: datetime
    description: str | None
    app_config_resource: AppConfigResource | None


@dataclass(frozen=True, slots=True)
class ProjectDataDeliveryUpdated:
    at: datetime
    data_delivery: DataDelivery | None


@dataclass(frozen=True, slots=True)
class ProjectDeleted:
    at: datetime


# -- features -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeatureCreated:
    at: datetime
    project: str
    name: str
    description: str | None
    variations: tuple[Variation, ...]
    default_variation: str
    evaluation_strategy: str
    entity_overrides: Mapping[str, str]
    tags: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class FeatureUpdated:
    at: datetime
    description: str | None
    variations: tuple[Variation, ...]
    default_variation: str
    evaluation_strategy: str
    entity_overrides: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class FeatureDeleted:
    at: datetime


# -- shared by launches and experiments ------------------------------------


@dataclass(frozen=True, slots=True)
class MetricDefinition:
    name: str
    entity_id_key: str
    value_key: str
    event_pattern: str | None = None
    unit_label: str | None = None


@dataclass(frozen=True, slots=True)
class MetricCap:
    """Winsorize each entity's number: at ``value`` (ABSOLUTE), or at the ``value``-th
    percentile (0 < value < 100) of the entities' numbers (PERCENTILE)."""

    kind: CapKind
    value: float


@dataclass(frozen=True, slots=True)
class MetricFormula:
    """A FORMULA metric: ``numerator`` over (RATIO) or minus (DIFFERENCE) ``denominator``,
    both names of other metric goals of the same experiment."""

    operator: FormulaOperator
    numerator: str
    denominator: str


@dataclass(frozen=True, slots=True)
class MetricGoal:
    """Evidently's goal, and Verdict's extra members (README, Metric types): events before
    this feature carry none, and decode with the defaults, today's behaviour."""

    definition: MetricDefinition
    desired_change: str = DesiredChange.INCREASE
    metric_type: MetricType = MetricType.SUM
    # None: PRIMARY for the first goal, SECONDARY for the others.
    role: MetricRole | None = None
    # The value the primary metric's treatment mean is compared with (Above/Below Goal).
    goal: float | None = None
    # Events count only within this many seconds of the entity's exposure.
    window_seconds: int | None = None
    cap: MetricCap | None = None
    # FUNNEL: the steps after the first (the definition's eventPattern), in order.
    funnel_steps: tuple[str, ...] = ()
    formula: MetricFormula | None = None
    # RETENTION: the entity did the event in [N days, N+1 days) after its exposure.
    retention_day: int | None = None


# -- launches -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LaunchGroup:
    name: str
    description: str | None
    feature: str
    variation: str


@dataclass(frozen=True, slots=True)
class SegmentOverride:
    segment: str
    evaluation_order: int
    weights: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class ScheduledStep:
    start_time: datetime
    group_weights: Mapping[str, int]
    segment_overrides: tuple[SegmentOverride, ...] = ()


@dataclass(frozen=True, slots=True)
class LaunchConfig:
    """Everything CreateLaunch and UpdateLaunch set; an update carries the whole new config."""

    description: str | None
    groups: tuple[LaunchGroup, ...]
    metric_monitors: tuple[MetricDefinition, ...]
    randomization_salt: str
    steps: tuple[ScheduledStep, ...]


@dataclass(frozen=True, slots=True)
class LaunchCreated:
    at: datetime
    project: str
    name: str
    config: LaunchConfig
    tags: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class LaunchUpdated:
    at: datetime
    config: LaunchConfig


@dataclass(frozen=True, slots=True)
class LaunchStarted:
    at: datetime


@dataclass(frozen=True, slots=True)
class LaunchStopped:
    at: datetime
    desired_state: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class LaunchDeleted:
    at: datetime


# -- experiments ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Treatment:
    name: str
    description: str | None
    feature: str
    variation: str


@dataclass(frozen=True, slots=True)
class AnalysisConfig:
    """Seed-004 optional fields: how results are analysed (see README, Statistics)."""

    method: str = AnalysisMethod.SEQUENTIAL
    confidence_level: float = 0.95
    correction: str = CorrectionName.HOLM
    one_sided: bool = False
    tuning_sample_size: int = 5000
    prior_mean: float | None = None
    prior_variance: float | None = None
    effect: str = EffectScale.RELATIVE
    cuped: bool = True
    cuped_window_days: int = 14
    prior: str | None = None


@dataclass(frozen=True, slots=True)
class ExposureEvent:
    """The event that exposes an assigned entity: a pattern over metric events, and where
    the entity id sits in their data."""

    event_pattern: str
    entity_id_key: str


@dataclass(frozen=True, slots=True)
class ExperimentConfig:
    """Everything CreateExperiment and UpdateExperiment set; updates carry the whole config."""

    description: str | None
    treatments: tuple[Treatment, ...]
    metric_goals: tuple[MetricGoal, ...]
    control_treatment: str
    treatment_weights: Mapping[str, int]
    randomization_salt: str
    sampling_rate: int
    segment: str | None
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    sticky_assignment: bool = True
    # An entity enters the analysis at its first matching event after assignment, not at
    # its evaluation (seed 002: "the exposure event is not the same thing as the
    # assignment event"); None keeps the evaluation as the exposure.
    exposure: ExposureEvent | None = None
    # Seed 004's experiment fields.
    hypothesis: str | None = None
    links: Mapping[str, str] = field(default_factory=dict)
    subject_type: str = "ANY"
    parent_id: str = "DEFAULT"


@dataclass(frozen=True, slots=True)
class ExperimentCreated:
    at: datetime
    project: str
    name: str
    config: ExperimentConfig
    tags: Mapping[str, str]
    # Names this incarnation of the experiment wherever its data lives (sticky
    # assignments, Kafka records, aggregate cells): a UUID, minted by the caller.
    # Schema version 2; version 1 events get their old key (see the upcaster below).
    experiment_id: str


@dataclass(frozen=True, slots=True)
class ExperimentUpdated:
    at: datetime
    config: ExperimentConfig


@dataclass(frozen=True, slots=True)
class ExperimentStarted:
    at: datetime
    analysis_complete_time: datetime


@dataclass(frozen=True, slots=True)
class ExperimentStopped:
    at: datetime
    desired_state: str
    reason: str | None
    ended_reason: str | None


@dataclass(frozen=True, slots=True)
class ExperimentWinnerDeclared:
    at: datetime
    treatment: str


@dataclass(frozen=True, slots=True)
class ExperimentArchived:
    at: datetime


@dataclass(frozen=True, slots=True)
class ExperimentDeleted:
    at: datetime


# -- segments -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SegmentCreated:
    at: datetime
    name: str
    pattern: str
    description: str | None
    tags: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class SegmentDeleted:
    at: datetime


@dataclass(frozen=True, slots=True)
class AccessKeyCreated:
    """A key that signs requests. ``sealed_secret`` is the secret encrypted with the
    installation's master key (``shared/sealing.py``): never in clear in the log."""

    at: datetime
    key_id: str
    sealed_secret: str
    scope: str  # an access.Scope
    projects: tuple[str, ...]  # empty: every project
    description: str | None


@dataclass(frozen=True, slots=True)
class AccessKeyRevoked:
    at: datetime


# -- any resource ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TagsChanged:
    at: datetime
    tags: Mapping[str, str] = field(default_factory=dict)


Event = (
    ProjectCreated
    | ProjectUpdated
    | ProjectDataDeliveryUpdated
    | ProjectDeleted
    | FeatureCreated
    | FeatureUpdated
    | FeatureDeleted
    | LaunchCreated
    | LaunchUpdated
    | LaunchStarted
    | LaunchStopped
    | LaunchDeleted
    | ExperimentCreated
    | ExperimentUpdated
    | ExperimentStarted
    | ExperimentStopped
    | ExperimentWinnerDeclared
    | ExperimentArchived
    | ExperimentDeleted
    | SegmentCreated
    | SegmentDeleted
    | AccessKeyCreated
    | AccessKeyRevoked
    | TagsChanged
)

EVENT_TYPES: dict[str, type] = {cls.__name__: cls for cls in typing.get_args(Event)}

# The schema version each event type is written at; absent, 1.
SCHEMA_VERSIONS: dict[str, int] = {"ExperimentCreated": 2}


def legacy_experiment_key(project: str, name: str, created_at: datetime) -> str:
    """How an experiment was named before ExperimentCreated carried an id (schema 1):
    ``project/name@created`` in epoch seconds to the microsecond."""
    return f"{project}/{name}@{created_at.timestamp():.6f}"


def _experiment_created_v1_to_v2(payload: dict[str, typing.Any]) -> dict[str, typing.Any]:
    # An experiment created before ids keeps the key its data is already stored
    # under (sticky assignments, processor rows, aggregate cells), so upgrading moves
    # nothing. New experiments get a UUID.
    created = datetime.fromisoformat(payload["at"])
    key = legacy_experiment_key(payload["project"], payload["name"], created)
    return {**payload, "experiment_id": key}


UPCASTERS[("ExperimentCreated", 1)] = _experiment_created_v1_to_v2
