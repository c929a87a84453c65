"""Verdict's members of a metric goal: each rule refuses its case, naming the member."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from shared.domain.errors import Invalid
from shared.domain.events import MetricCap, MetricDefinition, MetricFormula, MetricGoal
from shared.domain.metrics import check_metric_goals, roles
from shared.domain.stats.vocabulary import CapKind, FormulaOperator, MetricRole, MetricType


def pattern(key: str) -> str:
    return json.dumps({"details": {key: [{"exists": True}]}})


def goal(name: str = "revenue", kind: MetricType = MetricType.SUM, **members: object) -> MetricGoal:
    definition = MetricDefinition(name, "userDetails.userId", f"details.{name}", pattern(name))
    return MetricGoal(definition, metric_type=kind, **members)  # type: ignore[arg-type]


def funnel(**members: object) -> MetricGoal:
    steps = members.pop("funnel_steps", (pattern("cart"), pattern("paid")))
    return goal("checkout", MetricType.FUNNEL, funnel_steps=steps, **members)


def formula(numerator: str = "revenue", denominator: str = "orders", **kw: object) -> MetricGoal:
    return goal(
        "per_order",
        MetricType.FORMULA,
        formula=MetricFormula(FormulaOperator.RATIO, numerator, denominator),
        **kw,
    )


def refused(goals: list[MetricGoal], field: str) -> None:
    with pytest.raises(Invalid) as caught:
        check_metric_goals(goals)
    assert caught.value.field == field


def test_every_type_with_its_members_is_accepted() -> None:
    check_metric_goals(
        [
            goal(
                kind=MetricType.SUM,
                goal=12.5,
                window_seconds=3600,
                cap=MetricCap(CapKind.PERCENTILE, 99.0),
            ),
            goal("orders", MetricType.COUNT, cap=MetricCap(CapKind.ABSOLUTE, 10.0)),
            formula(role=MetricRole.GUARDRAIL),
        ]
    )
    check_metric_goals([goal(kind=MetricType.AVERAGE, window_seconds=60)])
    check_metric_goals([goal(kind=MetricType.UNIQUE_CONVERSIONS, window_seconds=90 * 86_400)])
    check_metric_goals([funnel(funnel_steps=(pattern("s"),) * 9, window_seconds=86_400)])
    check_metric_goals([goal(kind=MetricType.RETENTION, retention_day=0)])
    check_metric_goals([goal(kind=MetricType.RETENTION, retention_day=90)])


def test_metric_type_must_be_one_of_the_seven() -> None:
    refused([goal(), goal("x", "MEDIAN")], "metricGoals[1].metricType")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_goal_is_finite(value: float) -> None:
    refused([goal(goal=value)], "metricGoals[0].goal")


@pytest.mark.parametrize("seconds", [59, 90 * 86_400 + 1, 0, -60])
def test_conversion_window_is_a_minute_to_90_days(seconds: int) -> None:
    refused([goal(window_seconds=seconds)], "metricGoals[0].conversionWindowSeconds")


def test_retention_takes_no_conversion_window() -> None:
    retention = goal(kind=MetricType.RETENTION, retention_day=1, window_seconds=3600)
    refused([retention], "metricGoals[0].conversionWindowSeconds")


def test_formula_takes_no_conversion_window() -> None:
    refused(
        [goal(), goal("orders"), formula(window_seconds=3600)],
        "metricGoals[2].conversionWindowSeconds",
    )


@pytest.mark.parametrize("kind", [MetricType.UNIQUE_CONVERSIONS, MetricType.RETENTION])
def test_binary_types_take_no_cap(kind: MetricType) -> None:
    members: dict[str, object] = {"retention_day": 1} if kind is MetricType.RETENTION else {}
    capped = goal(kind=kind, cap=MetricCap(CapKind.ABSOLUTE, 1.0), **members)
    refused([capped], "metricGoals[0].cap")


def test_funnel_takes_no_cap() -> None:
    refused([funnel(cap=MetricCap(CapKind.PERCENTILE, 99.0))], "metricGoals[0].cap")


def test_formula_takes_no_cap() -> None:
    capped = formula(cap=MetricCap(CapKind.ABSOLUTE, 5.0))
    refused([goal(), goal("orders"), capped], "metricGoals[2].cap")


@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_an_absolute_cap_is_finite(value: float) -> None:
    refused([goal(cap=MetricCap(CapKind.ABSOLUTE, value))], "metricGoals[0].cap.value")


@pytest.mark.parametrize("value", [50.0, 100.0, 10.0, 150.0, math.nan])
def test_a_percentile_cap_is_strictly_between_50_and_100(value: float) -> None:
    refused([goal(cap=MetricCap(CapKind.PERCENTILE, value))], "metricGoals[0].cap.value")


def test_cap_kind_is_absolute_or_percentile() -> None:
    median = MetricCap("MEDIAN", 5.0)  # type: ignore[arg-type]
    refused([goal(cap=median)], "metricGoals[0].cap.kind")


def test_only_a_funnel_takes_funnel_steps() -> None:
    refused([goal(funnel_steps=(pattern("a"),))], "metricGoals[0].funnelSteps")


@pytest.mark.parametrize("count", [0, 10])
def test_a_funnel_has_1_to_9_steps_after_its_first(count: int) -> None:
    refused([funnel(funnel_steps=(pattern("s"),) * count)], "metricGoals[0].funnelSteps")


def test_a_funnels_event_pattern_is_its_first_step_and_required() -> None:
    bare = funnel()
    bare = replace(bare, definition=replace(bare.definition, event_pattern=None))
    refused([bare], "metricGoals[0].metricDefinition.eventPattern")


@pytest.mark.parametrize("step", ["", "not json", '{"a": "not a list"}', "{}" + " " * 1023])
def test_each_funnel_step_is_an_event_pattern(step: str) -> None:
    refused([goal(), funnel(funnel_steps=(pattern("a"), step))], "metricGoals[1].funnelSteps[1]")


def test_only_a_formula_takes_a_formula() -> None:
    stray = goal(formula=MetricFormula(FormulaOperator.RATIO, "a", "b"))
    refused([stray, goal("a"), goal("b")], "metricGoals[0].formula")


def test_a_formula_metric_needs_its_formula() -> None:
    refused([goal(), goal("x", MetricType.FORMULA)], "metricGoals[1].formula")


def test_a_formula_names_other_goals_of_the_experiment() -> None:
    refused([goal(), goal("orders"), formula("refunds")], "metricGoals[2].formula.numerator")
    refused(
        [goal(), goal("orders"), formula("revenue", "visits")], "metricGoals[2].formula.denominator"
    )


def test_a_formula_does_not_name_itself() -> None:
    goals = [goal(), goal("orders"), formula("per_order")]
    refused(goals, "metricGoals[2].formula.numerator")
    with pytest.raises(Invalid, match="another metric goal"):
        check_metric_goals(goals)


def test_a_formula_does_not_name_a_formula() -> None:
    other = replace(formula(), definition=replace(formula().definition, name="other"))
    refused([goal(), formula("revenue", "other"), other], "metricGoals[1].formula.denominator")


def test_a_formulas_two_metrics_differ() -> None:
    refused(
        [goal(), goal("orders"), formula("revenue", "revenue")],
        "metricGoals[2].formula.denominator",
    )


def test_a_formula_operator_is_ratio_or_difference() -> None:
    product = MetricFormula("PRODUCT", "revenue", "orders")  # type: ignore[arg-type]
    bad = replace(formula(), formula=product)
    refused([goal(), goal("orders"), bad], "metricGoals[2].formula.operator")


def test_only_retention_takes_a_retention_day() -> None:
    refused([goal(retention_day=3)], "metricGoals[0].retentionDay")


def test_retention_needs_its_day() -> None:
    refused([goal(kind=MetricType.RETENTION)], "metricGoals[0].retentionDay")


@pytest.mark.parametrize("day", [-1, 91])
def test_retention_day_is_0_to_90(day: int) -> None:
    refused([goal(kind=MetricType.RETENTION, retention_day=day)], "metricGoals[0].retentionDay")


def test_roles_default_to_primary_first_then_secondary() -> None:
    assert roles([goal(), goal("b"), goal("c")]) == (
        MetricRole.PRIMARY,
        MetricRole.SECONDARY,
        MetricRole.SECONDARY,
    )
    named = [goal(role=MetricRole.GUARDRAIL), goal("b", role=MetricRole.PRIMARY), goal("c")]
    assert roles(named) == (MetricRole.GUARDRAIL, MetricRole.PRIMARY, MetricRole.SECONDARY)
    check_metric_goals(named)
    # No primary at all is allowed: "at most one".
    check_metric_goals([goal(role=MetricRole.SECONDARY), goal("b", role=MetricRole.GUARDRAIL)])


def test_at_most_one_primary_after_defaults() -> None:
    refused([goal(), goal("b", role=MetricRole.PRIMARY)], "metricGoals[1].role")
    two = [goal(role=MetricRole.SECONDARY), goal("b", role="PRIMARY"), goal("c", role="PRIMARY")]
    refused(two, "metricGoals[2].role")


def test_role_is_one_of_the_three() -> None:
    refused([goal(role="OBSERVER")], "metricGoals[0].role")  # type: ignore[arg-type]


def test_metric_names_stay_unique() -> None:
    refused([goal(), goal()], "metricGoals")


def test_a_formula_does_not_name_an_average() -> None:
    goals = [goal(kind=MetricType.AVERAGE), goal("orders"), formula()]
    refused(goals, "metricGoals[2].formula.numerator")
    with pytest.raises(Invalid, match="AVERAGE"):
        check_metric_goals(goals)
