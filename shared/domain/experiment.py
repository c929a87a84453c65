"""Experiment aggregate: Evidently's CREATED→RUNNING→COMPLETED|CANCELLED, plus seed 004.

Seed 004's lifecycle maps onto Evidently's statuses: draft = CREATED,
active = RUNNING, winner_declared = RUNNING with a winner (every entity gets
it), ended = COMPLETED or CANCELLED (with an endedReason), archived = ended and
hidden from listings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.domain.errors import Conflict, Invalid, NotFound
from shared.domain.events import (
    ExperimentArchived,
    ExperimentConfig,
    ExperimentCreated,
    ExperimentDeleted,
    ExperimentStarted,
    ExperimentStopped,
    ExperimentUpdated,
    ExperimentWinnerDeclared,
    ExposureEvent,
    MetricGoal,
    TagsChanged,
)
from shared.domain.feature import Feature
from shared.domain.metrics import MAX_EVENT_PATTERN_LENGTH, check_metric_goals, roles
from shared.domain.patterns import compile_pattern
from shared.domain.resources import ResourceKind, ResourceRef
from shared.domain.stats.vocabulary import AnalysisMethod, CorrectionName
from shared.domain.values import ENDED, EVERYONE, EndedReason, Status

TOTAL_WEIGHT = EVERYONE
ENDED_REASONS = tuple(r.value for r in EndedReason)
ANALYSIS_METHODS = tuple(m.value for m in AnalysisMethod)
MAX_CUPED_WINDOW_DAYS = 365
CORRECTIONS = tuple(c.value for c in CorrectionName)
# StartExperiment: analysisCompleteTime "must be no more than 30 days after the experiment starts".
MAX_DURATION = timedelta(days=30)
# Seed 004's experiment fields.
MAX_HYPOTHESIS_LENGTH = 2048
MAX_LINKS = 20
MAX_LINK_KEY_LENGTH = 64
MAX_LINK_VALUE_LENGTH = 2048
# Seed 004: an id is "case insensitive and consist of alphanumeric characters, '-', '_'
# or '.'", "stored and displayed in UPPERCASE"; 127 characters, as Evidently's names.
_SEED_ID = re.compile(r"[A-Za-z0-9._-]{1,127}")
# MetricDefinitionConfig's entityIdKey (botocore's JsonPath): 1 to 256 characters.
MAX_ENTITY_ID_KEY_LENGTH = 256
DEFAULT_SUBJECT_TYPE = "ANY"
DEFAULT_LAB = "DEFAULT"


@dataclass(frozen=True, slots=True)
class Experiment:
    project: str
    name: str
    config: ExperimentConfig
    tags: Mapping[str, str]
    status: str
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    analysis_complete_time: datetime | None = None
    status_reason: str | None = None
    winner: str | None = None
    ended_reason: str | None = None
    archived: bool = False
    version: int = 0
    deleted: bool = False
    # From ExperimentCreated: the key of everything stored about this incarnation.
    experiment_id: str = ""

    @property
    def feature(self) -> str:
        return self.config.treatments[0].feature

    def status_at(self, now: datetime) -> str:
        """RUNNING experiments complete at analysisCompleteTime, unless a winner is serving."""
        if (
            self.status == Status.RUNNING
            and self.winner is None
            and self.analysis_complete_time is not None
            and now >= self.analysis_complete_time
        ):
            return Status.COMPLETED
        return self.status

    def lifecycle_at(self, now: datetime) -> str:
        status = self.status_at(now)
        if self.archived:
            return "archived"
        if status == Status.CREATED:
            return "draft"
        if status == Status.RUNNING:
            return "winner_declared" if self.winner else "active"
        return "ended"

    def treatment(self, name: str) -> str | None:
        for t in self.config.treatments:
            if t.name == name:
                return t.variation
        return None


def stream(project: str, name: str) -> str:
    return ResourceRef(ResourceKind.EXPERIMENT, project, name).stream


FeatureLookup = Callable[[str], Feature | None]


def check_config(
    config: ExperimentConfig, feature: FeatureLookup, segments: Collection[str]
) -> None:
    names = [t.name for t in config.treatments]
    if not 1 <= len(names) <= 5:
        raise Invalid("an experiment has 1 to 5 treatments", field="treatments")
    if len(set(names)) != len(names):
        raise Invalid("treatment names must be unique", field="treatments")
    features = {t.feature for t in config.treatments}
    if len(features) != 1:
        raise Invalid(
            "every treatment of an experiment uses the same feature", field="treatments.feature"
        )
    for t in config.treatments:
        f = feature(t.feature)
        if f is None:
            raise NotFound(f"feature {t.feature} does not exist", t.feature, "Feature")
        if f.variation(t.variation) is None:
            raise Invalid(
                f"treatment {t.name}: feature {t.feature} has no variation {t.variation!r}",
                field="treatments.variation",
            )
    if not 1 <= len(config.metric_goals) <= 3:
        raise Invalid("an experiment has 1 to 3 metricGoals", field="metricGoals")
    check_metric_goals(config.metric_goals, "metricGoals")
    if config.control_treatment not in names:
        raise Invalid(
            f"controlTreatmentName {config.control_treatment!r} is not a treatment",
            field="onlineAbConfig.controlTreatmentName",
        )
    unknown = sorted(set(config.treatment_weights) - set(names))
    if unknown:
        raise Invalid(
            f"treatmentWeights names unknown treatments {unknown}",
            field="onlineAbConfig.treatmentWeights",
        )
    weights = config.treatment_weights.values()
    if any(not 0 <= w <= TOTAL_WEIGHT for w in weights) or sum(weights) != TOTAL_WEIGHT:
        raise Invalid(
            f"treatmentWeights are 0 to {TOTAL_WEIGHT} each and sum to {TOTAL_WEIGHT}",
            field="onlineAbConfig.treatmentWeights",
        )
    if not 0 <= config.sampling_rate <= TOTAL_WEIGHT:
        raise Invalid("samplingRate is 0 to 100000", field="samplingRate")
    if config.segment is not None and config.segment not in segments:
        raise NotFound(f"segment {config.segment} does not exist", config.segment, "Segment")
    analysis = config.analysis
    if analysis.method not in ANALYSIS_METHODS:
        raise Invalid(
            f"analysis method is one of {ANALYSIS_METHODS}", field="analysisConfig.method"
        )
    if not 0.5 <= analysis.confidence_level < 1:
        raise Invalid(
            "confidenceLevel is at least 0.5 and below 1", field="analysisConfig.confidenceLevel"
        )
    if analysis.correction not in CORRECTIONS:
        raise Invalid(f"correction is one of {CORRECTIONS}", field="analysisConfig.correction")
    if analysis.tuning_sample_size < 1:
        raise Invalid("tuningSampleSize is positive", field="analysisConfig.tuningSampleSize")
    if analysis.prior_variance is not None and analysis.prior_variance <= 0:
        raise Invalid("priorVariance is positive", field="analysisConfig.priorVariance")
    if not 1 <= analysis.cuped_window_days <= MAX_CUPED_WINDOW_DAYS:
        raise Invalid(
            f"cupedWindowDays is between 1 and {MAX_CUPED_WINDOW_DAYS}",
            field="analysisConfig.cupedWindowDays",
        )
    if config.exposure is not None:
        _check_exposure(config.exposure)
    _check_seed_fields(config)


def _check_exposure(exposure: ExposureEvent) -> None:
    if not exposure.event_pattern:
        raise Invalid("exposureEvent needs an eventPattern", field="exposureEvent.eventPattern")
    compile_pattern(
        exposure.event_pattern,
        field="exposureEvent.eventPattern",
        max_length=MAX_EVENT_PATTERN_LENGTH,
    )
    if not 1 <= len(exposure.entity_id_key) <= MAX_ENTITY_ID_KEY_LENGTH:
        raise Invalid(
            f"exposureEvent.entityIdKey is 1 to {MAX_ENTITY_ID_KEY_LENGTH} characters",
            field="exposureEvent.entityIdKey",
        )


def _check_seed_fields(config: ExperimentConfig) -> None:
    if config.hypothesis is not None and len(config.hypothesis) > MAX_HYPOTHESIS_LENGTH:
        raise Invalid(
            f"hypothesis is at most {MAX_HYPOTHESIS_LENGTH} characters", field="hypothesis"
        )
    if len(config.links) > MAX_LINKS:
        raise Invalid(f"an experiment has at most {MAX_LINKS} links", field="links")
    for key, value in config.links.items():
        if not 1 <= len(key) <= MAX_LINK_KEY_LENGTH:
            raise Invalid(
                f"a links key is 1 to {MAX_LINK_KEY_LENGTH} characters, not {len(key)}",
                field="links",
            )
        if len(value) > MAX_LINK_VALUE_LENGTH:
            raise Invalid(
                f"the link {key!r} is longer than {MAX_LINK_VALUE_LENGTH} characters",
                field=f"links.{key}",
            )
    check_seed_id(config.subject_type, "subjectType")
    check_seed_id(config.parent_id, "parentId")


def check_seed_id(value: str, field: str) -> None:
    if _SEED_ID.fullmatch(value) is None:
        raise Invalid(
            f"{field} is 1 to 127 letters, digits, '-', '_' or '.' (seed 004's ids)", field=field
        )


def lab_id(value: str, field: str = "lab") -> str:
    """A lab's id as stored and displayed: seed 004's ids are case-insensitive, in UPPERCASE."""
    check_seed_id(value, field)
    return value.upper()


def _normalized(config: ExperimentConfig) -> ExperimentConfig:
    """The config as stored: seed 004's ids in uppercase, an empty hypothesis as none."""
    return replace(
        config,
        subject_type=config.subject_type.upper(),
        parent_id=config.parent_id.upper(),
        hypothesis=config.hypothesis or None,
    )


def _measurement_changes(old: ExperimentConfig, new: ExperimentConfig) -> list[str]:
    """What a running experiment may not change, because it changes what its stored
    aggregates mean: the members naming each goal's part, by position."""
    changed = []
    if [g.definition for g in old.metric_goals] != [g.definition for g in new.metric_goals] or [
        g.desired_change for g in old.metric_goals
    ] != [g.desired_change for g in new.metric_goals]:
        changed.append("metricGoals")
    else:
        old_roles, new_roles = roles(old.metric_goals), roles(new.metric_goals)
        for i, (a, b) in enumerate(zip(old.metric_goals, new.metric_goals, strict=True)):
            changed += [f"metricGoals[{i}].{name}" for name in _goal_changes(a, b)]
            if old_roles[i] != new_roles[i]:
                changed.append(f"metricGoals[{i}].role")
    if old.exposure != new.exposure:
        changed.append("exposureEvent")
    return changed


def _goal_changes(old: MetricGoal, new: MetricGoal) -> list[str]:
    members = {
        "metricType": (old.metric_type, new.metric_type),
        "goal": (old.goal, new.goal),
        "conversionWindowSeconds": (old.window_seconds, new.window_seconds),
        "cap": (old.cap, new.cap),
        "funnelSteps": (old.funnel_steps, new.funnel_steps),
        "formula": (old.formula, new.formula),
        "retentionDay": (old.retention_day, new.retention_day),
    }
    return [name for name, (a, b) in members.items() if a != b]


def _ensure_not_ended(experiment: Experiment, now: datetime) -> None:
    status = experiment.status_at(now)
    if status in ENDED:
        raise Conflict(
            f"experiment {experiment.name} is {status} and can no longer change",
            experiment.name,
            "Experiment",
        )


def create_experiment(
    existing: Experiment | None,
    *,
    project: str,
    name: str,
    config: ExperimentConfig,
    tags: Mapping[str, str],
    feature: FeatureLookup,
    segments: Collection[str],
    now: datetime,
    experiment_id: str,
) -> list[ExperimentCreated]:
    if existing is not None and not existing.deleted:
        raise Conflict(f"experiment {name} already exists in project {project}", name, "Experiment")
    check_config(config, feature, segments)
    return [ExperimentCreated(now, project, name, _normalized(config), dict(tags), experiment_id)]


def update_experiment(
    experiment: Experiment,
    config: ExperimentConfig,
    *,
    feature: FeatureLookup,
    segments: Collection[str],
    now: datetime,
) -> list[ExperimentUpdated]:
    _ensure_not_ended(experiment, now)
    check_config(config, feature, segments)
    if experiment.status == Status.RUNNING:
        old = experiment.config
        # UpdateExperiment: segment and removeSegment "can't be used if the
        # experiment is currently running"; neither can what it measures.
        frozen = {
            "segment": old.segment != config.segment,
            "treatments": old.treatments != config.treatments,
            "onlineAbConfig.controlTreatmentName": old.control_treatment
            != config.control_treatment,
            # The processor computes every entity's covariate over this window.
            "analysisConfig.cupedWindowDays": old.analysis.cuped_window_days
            != config.analysis.cuped_window_days,
        }
        changed = [k for k, v in frozen.items() if v] + _measurement_changes(old, config)
        if changed:
            raise Conflict(
                f"experiment {experiment.name} is running; {', '.join(changed)} can't change now",
                experiment.name,
                "Experiment",
                field=changed[0],
            )
    return [ExperimentUpdated(now, _normalized(config))]


def start_experiment(
    experiment: Experiment,
    *,
    analysis_complete_time: datetime,
    feature_has_running_experiment: bool,
    now: datetime,
) -> list[ExperimentStarted]:
    if experiment.status != Status.CREATED:
        raise Conflict(
            f"experiment {experiment.name} is {experiment.status_at(now)}; only a CREATED"
            " experiment can start",
            experiment.name,
            "Experiment",
        )
    if len(experiment.config.treatments) < 2:
        raise Invalid("an experiment needs at least 2 treatments to start", field="treatments")
    if feature_has_running_experiment:
        raise Conflict(
            f"feature {experiment.feature} already has a running experiment",
            experiment.name,
            "Experiment",
        )
    if analysis_complete_time <= now:
        raise Invalid("analysisCompleteTime must be in the future", field="analysisCompleteTime")
    if analysis_complete_time > now + MAX_DURATION:
        raise Invalid(
            "analysisCompleteTime must be no more than 30 days after the start",
            field="analysisCompleteTime",
        )
    return [ExperimentStarted(now, analysis_complete_time)]


def stop_experiment(
    experiment: Experiment,
    *,
    desired_state: str | None,
    reason: str | None,
    ended_reason: str | None,
    now: datetime,
) -> list[ExperimentStopped]:
    if experiment.status_at(now) != Status.RUNNING:
        raise Conflict(
            f"experiment {experiment.name} is {experiment.status_at(now)}, not RUNNING",
            experiment.name,
            "Experiment",
        )
    if ended_reason is not None and ended_reason not in ENDED_REASONS:
        raise Invalid(f"endedReason is one of {ENDED_REASONS}", field="endedReason")
    return [ExperimentStopped(now, desired_state or Status.COMPLETED, reason, ended_reason)]


def declare_winner(
    experiment: Experiment, treatment: str, now: datetime
) -> list[ExperimentWinnerDeclared]:
    if experiment.status_at(now) != Status.RUNNING:
        raise Conflict(
            f"experiment {experiment.name} is {experiment.status_at(now)}; a winner is declared"
            " on a running experiment",
            experiment.name,
            "Experiment",
        )
    if experiment.treatment(treatment) is None:
        raise Invalid(
            f"experiment {experiment.name} has no treatment {treatment!r}", field="treatment"
        )
    return [ExperimentWinnerDeclared(now, treatment)]


def archive_experiment(experiment: Experiment, now: datetime) -> list[ExperimentArchived]:
    if experiment.status_at(now) not in ENDED:
        raise Conflict(
            f"experiment {experiment.name} is {experiment.status_at(now)}; only an ended"
            " experiment can be archived",
            experiment.name,
            "Experiment",
        )
    if experiment.archived:
        raise Conflict(
            f"experiment {experiment.name} is already archived", experiment.name, "Experiment"
        )
    return [ExperimentArchived(now)]


def delete_experiment(experiment: Experiment, now: datetime) -> list[ExperimentDeleted]:
    if experiment.status_at(now) == Status.RUNNING:
        raise Conflict(
            f"experiment {experiment.name} is running; stop it before deleting it",
            experiment.name,
            "Experiment",
        )
    return [ExperimentDeleted(now)]


def apply(experiment: Experiment | None, event: object, version: int) -> Experiment | None:
    match event:
        case ExperimentCreated():
            return Experiment(
                project=event.project,
                name=event.name,
                config=event.config,
                tags=dict(event.tags),
                status=Status.CREATED,
                created_at=event.at,
                updated_at=event.at,
                version=version,
                experiment_id=event.experiment_id,
            )
    if experiment is None:
        return None
    match event:
        case ExperimentUpdated():
            return replace(experiment, config=event.config, updated_at=event.at, version=version)
        case ExperimentStarted():
            return replace(
                experiment,
                status=Status.RUNNING,
                started_at=event.at,
                analysis_complete_time=event.analysis_complete_time,
                updated_at=event.at,
                version=version,
            )
        case ExperimentStopped():
            return replace(
                experiment,
                status=event.desired_state,
                ended_at=event.at,
                status_reason=event.reason,
                ended_reason=event.ended_reason,
                updated_at=event.at,
                version=version,
            )
        case ExperimentWinnerDeclared():
            return replace(experiment, winner=event.treatment, updated_at=event.at, version=version)
        case ExperimentArchived():
            return replace(experiment, archived=True, updated_at=event.at, version=version)
        case ExperimentDeleted():
            return replace(experiment, deleted=True, updated_at=event.at, version=version)
        case TagsChanged():
            return replace(experiment, tags=dict(event.tags), version=version)
    return experiment
