"""EvaluateFeature's rules, in Evidently's order, as pure functions.

``compile_rules`` turns the view's state for one feature into ``FeatureRules``:
patterns compiled, weights sorted and scaled, times as epoch seconds. It runs
when the projection changes, never per request. ``evaluate`` then decides one
entity with nothing but hashing, comparisons and the compiled patterns:

1. the feature's entity overrides (ENTITY_OVERRIDES_MATCH);
2. a running launch: the scheduled step in force, its segment overrides in
   evaluationOrder, then the step's group weights (LAUNCH_RULE_MATCH);
3. a running experiment: its segment, a declared winner, a sticky assignment,
   samplingRate, then the treatment weights (EXPERIMENT_RULE_MATCH);
4. the default variation (DEFAULT).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from shared.domain.experiment import Experiment
from shared.domain.feature import Feature
from shared.domain.hashing import SAMPLE, SPLIT, bucket, pick, scale_weights
from shared.domain.launch import Launch
from shared.domain.patterns import Pattern, compile_pattern
from shared.domain.resources import ResourceKind
from shared.domain.values import VariableValue

Weights = tuple[tuple[str, int], ...]


class Reason(enum.Enum):
    ENTITY_OVERRIDES_MATCH = "ENTITY_OVERRIDES_MATCH"
    LAUNCH_RULE_MATCH = "LAUNCH_RULE_MATCH"
    EXPERIMENT_RULE_MATCH = "EXPERIMENT_RULE_MATCH"
    DEFAULT = "DEFAULT"


@dataclass(frozen=True, slots=True)
class Evaluation:
    variation: str
    value: VariableValue
    reason: Reason
    details: dict[str, Any] = field(default_factory=dict)
    # Set when a running launch or experiment decided: what the processor joins on.
    rule_kind: ResourceKind | None = None  # LAUNCH or EXPERIMENT
    rule_name: str | None = None
    arm: str | None = None  # launch group or experiment treatment
    newly_assigned: bool = False  # a sticky assignment to record


@dataclass(frozen=True, slots=True)
class CompiledStep:
    start: float
    weights: Weights
    overrides: tuple[tuple[Pattern, Weights], ...]


@dataclass(frozen=True, slots=True)
class CompiledLaunch:
    name: str
    salt: str
    group_variations: Mapping[str, str]  # groups of this feature only
    steps: tuple[CompiledStep, ...]

    def step_at(self, now: float) -> CompiledStep | None:
        current = None
        for step in self.steps:
            if step.start <= now:
                current = step
        return current


@dataclass(frozen=True, slots=True)
class CompiledExperiment:
    key: str  # stable across restarts, new for a re-created experiment
    name: str
    salt: str
    sampling_rate: int
    weights: Weights
    treatment_variations: Mapping[str, str]
    segment: Pattern | None
    winner: str | None
    complete_at: float | None
    sticky: bool


@dataclass(frozen=True, slots=True)
class FeatureRules:
    project: str
    feature: str
    values: Mapping[str, VariableValue]
    default: str
    overrides: Mapping[str, str]
    rules_enabled: bool
    launch: CompiledLaunch | None
    experiment: CompiledExperiment | None


class StickyAssignments(Protocol):
    def get(self, experiment: str, entity_id: str) -> str | None: ...


def _sorted(weights: Mapping[str, int]) -> Weights:
    # Map-shaped weights are laid out in name order so every SDK draws the same ranges.
    return tuple(sorted(weights.items()))


def compile_launch(launch: Launch, feature: str, segments: Mapping[str, str]) -> CompiledLaunch:
    groups = {g.name: g.variation for g in launch.config.groups if g.feature == feature}
    steps = tuple(
        CompiledStep(
            start=step.start_time.timestamp(),
            weights=_sorted(step.group_weights),
            overrides=tuple(
                (compile_pattern(segments[o.segment], field="segment"), _sorted(o.weights))
                for o in sorted(step.segment_overrides, key=lambda o: o.evaluation_order)
                if o.segment in segments
            ),
        )
        for step in launch.config.steps
    )
    return CompiledLaunch(launch.name, launch.config.randomization_salt, groups, steps)


def compile_experiment(experiment: Experiment, segments: Mapping[str, str]) -> CompiledExperiment:
    c = experiment.config
    segment = None
    if c.segment is not None and c.segment in segments:
        segment = compile_pattern(segments[c.segment], field="segment")
    weights = scale_weights(_sorted(c.treatment_weights))
    return CompiledExperiment(
        key=experiment.experiment_id,
        name=experiment.name,
        salt=c.randomization_salt,
        sampling_rate=c.sampling_rate,
        weights=weights,
        treatment_variations={t.name: t.variation for t in c.treatments},
        segment=segment,
        winner=experiment.winner,
        complete_at=None
        if experiment.winner or experiment.analysis_complete_time is None
        else experiment.analysis_complete_time.timestamp(),
        sticky=c.sticky_assignment,
    )


def compile_rules(
    feature: Feature,
    launch: Launch | None,
    experiment: Experiment | None,
    segments: Mapping[str, str],
) -> FeatureRules:
    """``launch`` and ``experiment`` are the feature's running ones, if any."""
    return FeatureRules(
        project=feature.project,
        feature=feature.name,
        values={v.name: v.value for v in feature.variations},
        default=feature.default_variation,
        overrides=dict(feature.entity_overrides),
        rules_enabled=feature.evaluation_strategy == "ALL_RULES",
        launch=compile_launch(launch, feature.name, segments) if launch else None,
        experiment=compile_experiment(experiment, segments) if experiment else None,
    )


def _launch(
    rules: FeatureRules,
    launch: CompiledLaunch,
    entity_id: str,
    context: Mapping[str, object],
    now: float,
) -> Evaluation | None:
    step = launch.step_at(now)
    if step is None:
        return None
    point = bucket(launch.salt, entity_id, SPLIT)
    group = None
    # Segment overrides in evaluationOrder; weights summing below 100000 let the
    # rest of the segment fall through to the next override, then the step.
    for pattern, weights in step.overrides:
        if pattern.matches(context):
            group = pick(weights, point)
            if group is not None:
                break
    if group is None:
        group = pick(step.weights, point)
    variation = launch.group_variations.get(group) if group is not None else None
    if group is None or variation is None:
        return None
    return Evaluation(
        variation,
        rules.values[variation],
        Reason.LAUNCH_RULE_MATCH,
        {"launch": launch.name, "group": group},
        ResourceKind.LAUNCH,
        launch.name,
        group,
    )


def _experiment(
    rules: FeatureRules,
    x: CompiledExperiment,
    entity_id: str,
    context: Mapping[str, object],
    now: float,
    sticky: StickyAssignments | None,
) -> Evaluation | None:
    if x.complete_at is not None and now >= x.complete_at:
        return None
    if x.winner is not None:
        # Seed 004: once a winner is declared every entity gets it.
        variation = x.treatment_variations[x.winner]
        return Evaluation(
            variation,
            rules.values[variation],
            Reason.EXPERIMENT_RULE_MATCH,
            {"experiment": x.name, "treatment": x.winner, "winnerDeclared": True},
            ResourceKind.EXPERIMENT,
            x.name,
            x.winner,
        )
    if x.segment is not None and not x.segment.matches(context):
        return None
    treatment = sticky.get(x.key, entity_id) if (x.sticky and sticky is not None) else None
    newly = False
    if treatment is None or treatment not in x.treatment_variations:
        if bucket(x.salt, entity_id, SAMPLE) >= x.sampling_rate:
            return None
        treatment = pick(x.weights, bucket(x.salt, entity_id, SPLIT))
        if treatment is None:
            return None
        newly = x.sticky
    variation = x.treatment_variations[treatment]
    return Evaluation(
        variation,
        rules.values[variation],
        Reason.EXPERIMENT_RULE_MATCH,
        {"experiment": x.name, "treatment": treatment},
        ResourceKind.EXPERIMENT,
        x.name,
        treatment,
        newly,
    )


def evaluate(
    rules: FeatureRules,
    entity_id: str,
    context: Mapping[str, object],
    now: float,
    sticky: StickyAssignments | None = None,
) -> Evaluation:
    override = rules.overrides.get(entity_id)
    if override is not None and override in rules.values:
        return Evaluation(override, rules.values[override], Reason.ENTITY_OVERRIDES_MATCH)
    if rules.rules_enabled:
        if rules.launch is not None:
            decided = _launch(rules, rules.launch, entity_id, context, now)
            if decided is not None:
                return decided
        if rules.experiment is not None:
            decided = _experiment(rules, rules.experiment, entity_id, context, now, sticky)
            if decided is not None:
                return decided
    return Evaluation(rules.default, rules.values[rules.default], Reason.DEFAULT)
