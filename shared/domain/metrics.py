"""Metric definitions shared by launches (monitors) and experiments (goals), and the rules
of Verdict's members of a metric goal (README, "Beyond Evidently's wire", metric goals)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from shared.domain.errors import Invalid
from shared.domain.events import MetricCap, MetricDefinition, MetricFormula, MetricGoal
from shared.domain.patterns import compile_pattern
from shared.domain.stats.vocabulary import CapKind, FormulaOperator, MetricRole, MetricType

# MetricDefinitionConfig's eventPattern: at most 1024 characters (botocore's model).
MAX_EVENT_PATTERN_LENGTH = 1024
MIN_WINDOW_SECONDS = 60
MAX_WINDOW_SECONDS = 90 * 86_400
MAX_FUNNEL_STEPS = 9
MAX_RETENTION_DAY = 90
# A percentile cap at or below the median would winsorize most entities, not the outliers.
MIN_CAP_PERCENTILE = 50.0
MAX_CAP_PERCENTILE = 100.0
# Types whose number per entity is 0 or 1 (nothing to cap) or derived (FORMULA).
_UNCAPPED = frozenset({*(t for t in MetricType if t.binary), MetricType.FORMULA})
# The number of a FORMULA is computed from its two metrics' own, which have their windows.
_UNWINDOWED = frozenset({MetricType.RETENTION, MetricType.FORMULA})


def check_metric_definitions(definitions: Sequence[MetricDefinition], field: str) -> None:
    names = [d.name for d in definitions]
    if len(set(names)) != len(names):
        raise Invalid(f"metric names in {field} must be unique", field=field)
    for d in definitions:
        if d.event_pattern:
            compile_pattern(
                d.event_pattern, field=f"{field}.eventPattern", max_length=MAX_EVENT_PATTERN_LENGTH
            )


def roles(goals: Sequence[MetricGoal]) -> tuple[MetricRole, ...]:
    """Each goal's role, defaults applied: a goal without one is PRIMARY if it is the first,
    SECONDARY otherwise."""
    return tuple(
        MetricRole(g.role)
        if g.role is not None
        else MetricRole.PRIMARY
        if i == 0
        else MetricRole.SECONDARY
        for i, g in enumerate(goals)
    )


def check_metric_goals(goals: Sequence[MetricGoal], field: str = "metricGoals") -> None:
    """Verdict's rules on the members it adds to Evidently's metric goal; each violation
    names its goal by position, ``metricGoals[1].cap.value``."""
    check_metric_definitions([g.definition for g in goals], field)
    types = {g.definition.name: _metric_type(g, f"{field}[{i}]") for i, g in enumerate(goals)}
    for i, goal in enumerate(goals):
        _check_goal(goal, f"{field}[{i}]", types)
    _check_roles(goals, field)


def _metric_type(goal: MetricGoal, where: str) -> MetricType:
    try:
        return MetricType(goal.metric_type)
    except ValueError:
        choices = ", ".join(t.value for t in MetricType)
        raise Invalid(f"metricType is one of {choices}", field=f"{where}.metricType") from None


def _check_goal(goal: MetricGoal, where: str, types: dict[str, MetricType]) -> None:
    kind = types[goal.definition.name]
    if goal.goal is not None and not math.isfinite(goal.goal):
        raise Invalid("goal must be a finite number", field=f"{where}.goal")
    _check_window(goal.window_seconds, kind, f"{where}.conversionWindowSeconds")
    if goal.cap is not None:
        _check_cap(goal.cap, kind, f"{where}.cap")
    _check_funnel(goal, kind, where)
    _check_formula(goal.formula, goal.definition.name, kind, f"{where}.formula", types)
    _check_retention(goal.retention_day, kind, f"{where}.retentionDay")


def _check_window(seconds: int | None, kind: MetricType, where: str) -> None:
    if seconds is None:
        return
    if kind in _UNWINDOWED:
        raise Invalid(f"a {kind} metric takes no conversionWindowSeconds", field=where)
    if not MIN_WINDOW_SECONDS <= seconds <= MAX_WINDOW_SECONDS:
        raise Invalid(
            f"conversionWindowSeconds is {MIN_WINDOW_SECONDS} to {MAX_WINDOW_SECONDS} (90 days)",
            field=where,
        )


def _check_cap(cap: MetricCap, kind: MetricType, where: str) -> None:
    if kind in _UNCAPPED:
        raise Invalid(f"a {kind} metric takes no cap", field=where)
    try:
        cap_kind = CapKind(cap.kind)
    except ValueError:
        choices = ", ".join(k.value for k in CapKind)
        raise Invalid(f"cap.kind is one of {choices}", field=f"{where}.kind") from None
    if not math.isfinite(cap.value):
        raise Invalid("cap.value must be a finite number", field=f"{where}.value")
    if cap_kind is CapKind.PERCENTILE and not MIN_CAP_PERCENTILE < cap.value < MAX_CAP_PERCENTILE:
        raise Invalid(
            f"a PERCENTILE cap.value is strictly between {MIN_CAP_PERCENTILE:g} and"
            f" {MAX_CAP_PERCENTILE:g}",
            field=f"{where}.value",
        )


def _check_funnel(goal: MetricGoal, kind: MetricType, where: str) -> None:
    steps = goal.funnel_steps
    if kind is not MetricType.FUNNEL:
        if steps:
            raise Invalid(
                f"only a FUNNEL metric takes funnelSteps, not {kind}", field=f"{where}.funnelSteps"
            )
        return
    if not goal.definition.event_pattern:
        raise Invalid(
            "a FUNNEL metric's eventPattern is its first step, and is required",
            field=f"{where}.metricDefinition.eventPattern",
        )
    if not 1 <= len(steps) <= MAX_FUNNEL_STEPS:
        raise Invalid(
            f"a FUNNEL metric has 1 to {MAX_FUNNEL_STEPS} funnelSteps after its eventPattern",
            field=f"{where}.funnelSteps",
        )
    for j, step in enumerate(steps):
        step_field = f"{where}.funnelSteps[{j}]"
        if not step:
            raise Invalid("a funnel step is an event pattern, not empty", field=step_field)
        compile_pattern(step, field=step_field, max_length=MAX_EVENT_PATTERN_LENGTH)


def _check_formula(
    formula: MetricFormula | None,
    name: str,
    kind: MetricType,
    where: str,
    types: dict[str, MetricType],
) -> None:
    if kind is not MetricType.FORMULA:
        if formula is not None:
            raise Invalid(f"only a FORMULA metric takes a formula, not {kind}", field=where)
        return
    if formula is None:
        raise Invalid("a FORMULA metric needs a formula", field=where)
    try:
        FormulaOperator(formula.operator)
    except ValueError:
        choices = ", ".join(o.value for o in FormulaOperator)
        raise Invalid(f"formula.operator is one of {choices}", field=f"{where}.operator") from None
    for part in ("numerator", "denominator"):
        other = getattr(formula, part)
        if other == name or other not in types:
            raise Invalid(
                f"formula.{part} {other!r} must name another metric goal of this experiment",
                field=f"{where}.{part}",
            )
        if types[other] is MetricType.FORMULA:
            raise Invalid(
                f"formula.{part} {other!r} is itself a FORMULA metric", field=f"{where}.{part}"
            )
        if types[other] is MetricType.AVERAGE:
            # An entity's number of an AVERAGE metric is a ratio of two sums: a formula
            # over it has no per-entity number to take a ratio or difference of.
            raise Invalid(
                f"formula.{part} {other!r} is an AVERAGE metric; a formula takes metrics with"
                " one number per entity",
                field=f"{where}.{part}",
            )
    if formula.numerator == formula.denominator:
        raise Invalid(
            "formula.numerator and formula.denominator must differ", field=f"{where}.denominator"
        )


def _check_retention(day: int | None, kind: MetricType, where: str) -> None:
    if kind is not MetricType.RETENTION:
        if day is not None:
            raise Invalid(f"only a RETENTION metric takes a retentionDay, not {kind}", field=where)
        return
    if day is None:
        raise Invalid("a RETENTION metric needs a retentionDay", field=where)
    if not 0 <= day <= MAX_RETENTION_DAY:
        raise Invalid(f"retentionDay is 0 to {MAX_RETENTION_DAY}", field=where)


def _check_roles(goals: Sequence[MetricGoal], field: str) -> None:
    for i, goal in enumerate(goals):
        if goal.role is not None:
            try:
                MetricRole(goal.role)
            except ValueError:
                choices = ", ".join(r.value for r in MetricRole)
                raise Invalid(f"role is one of {choices}", field=f"{field}[{i}].role") from None
    primary: int | None = None
    for i, role in enumerate(roles(goals)):
        if role is not MetricRole.PRIMARY:
            continue
        if primary is not None:
            # The first goal is PRIMARY unless it says otherwise: naming another one
            # PRIMARY means giving the first another role.
            raise Invalid(
                f"metric goals {primary} and {i} are both PRIMARY (the first goal is PRIMARY"
                " unless its role says otherwise); an experiment has at most one",
                field=f"{field}[{i}].role",
            )
        primary = i
