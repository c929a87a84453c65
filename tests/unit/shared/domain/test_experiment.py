"""Experiment aggregate, issue 18's members: the exposure event, seed 004's fields, what a
running experiment may not change, and events stored before them."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain import experiment as agg
from shared.domain import feature as feature_agg
from shared.domain.errors import Conflict, Invalid
from shared.domain.events import (
    ExperimentConfig,
    ExperimentCreated,
    ExposureEvent,
    MetricCap,
    MetricDefinition,
    MetricFormula,
    MetricGoal,
    Treatment,
)
from shared.domain.feature import Feature
from shared.domain.projection import decode_event
from shared.domain.stats.vocabulary import CapKind, FormulaOperator, MetricRole, MetricType
from shared.domain.values import ValueType, VariableValue, Variation
from shared.envelope import Envelope, upcast

NOW = datetime(2026, 6, 1, tzinfo=UTC)
PATTERN = json.dumps({"details": {"revenue": [{"exists": True}]}})


def feature() -> Feature:
    variations = [Variation(n, VariableValue(ValueType.STRING, n)) for n in ("a", "b")]
    events = feature_agg.create_feature(
        None,
        project="p",
        name="f",
        description=None,
        variations=variations,
        default_variation=None,
        evaluation_strategy=None,
        entity_overrides={},
        tags={},
        now=NOW,
    )
    state = feature_agg.apply(None, events[0], 1)
    assert state is not None
    return state


FEATURE = feature()


def goal(name: str = "revenue", **members: object) -> MetricGoal:
    definition = MetricDefinition(name, "userDetails.userId", f"details.{name}", PATTERN)
    return MetricGoal(definition, **members)  # type: ignore[arg-type]


def config(**changes: object) -> ExperimentConfig:
    base = ExperimentConfig(
        description=None,
        treatments=(Treatment("control", None, "f", "a"), Treatment("treatment", None, "f", "b")),
        metric_goals=(goal(), goal("orders", metric_type=MetricType.COUNT)),
        control_treatment="control",
        treatment_weights={"control": 50_000, "treatment": 50_000},
        randomization_salt="e",
        sampling_rate=100_000,
        segment=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def create(cfg: ExperimentConfig) -> list[ExperimentCreated]:
    return agg.create_experiment(
        None,
        project="p",
        name="e",
        config=cfg,
        tags={},
        feature=lambda name: FEATURE if name == "f" else None,
        segments=(),
        now=NOW,
        experiment_id="id-1",
    )


def created(cfg: ExperimentConfig, *, running: bool = False) -> agg.Experiment:
    state = agg.apply(None, create(cfg)[0], 1)
    assert state is not None
    if running:
        started = agg.start_experiment(
            state,
            analysis_complete_time=NOW + timedelta(days=7),
            feature_has_running_experiment=False,
            now=NOW,
        )
        state = agg.apply(state, started[0], 2)
        assert state is not None
    return state


def update(experiment: agg.Experiment, cfg: ExperimentConfig) -> ExperimentConfig:
    events = agg.update_experiment(
        experiment, cfg, feature=lambda name: FEATURE, segments=(), now=NOW
    )
    return events[0].config


def refused(cfg: ExperimentConfig, field: str) -> None:
    with pytest.raises(Invalid) as caught:
        create(cfg)
    assert caught.value.field == field


def test_defaults_and_every_member_are_stored() -> None:
    assert create(config())[0].config.parent_id == "DEFAULT"
    assert create(config())[0].config.subject_type == "ANY"
    full = config(
        exposure=ExposureEvent(PATTERN, "userDetails.userId"),
        hypothesis="Free shipping lifts revenue",
        links={"prd": "https://example.com/prd"},
        subject_type="customer_id",
        parent_id="home-page-lab",
    )
    stored = create(full)[0].config
    assert stored.exposure == ExposureEvent(PATTERN, "userDetails.userId")
    assert stored.hypothesis == "Free shipping lifts revenue"
    assert stored.links == {"prd": "https://example.com/prd"}


def test_seed_004_ids_are_stored_in_uppercase() -> None:
    stored = create(config(subject_type="customer_id", parent_id="home-page.lab_1"))[0].config
    assert (stored.subject_type, stored.parent_id) == ("CUSTOMER_ID", "HOME-PAGE.LAB_1")
    assert agg.lab_id("home-page.lab_1") == "HOME-PAGE.LAB_1"


def test_an_empty_hypothesis_is_none() -> None:
    assert create(config(hypothesis=""))[0].config.hypothesis is None


def test_the_metric_goal_rules_apply_to_an_experiment() -> None:
    two_primaries = (goal(), goal("orders", role=MetricRole.PRIMARY))
    refused(config(metric_goals=two_primaries), "metricGoals[1].role")


def test_the_exposure_pattern_is_an_event_pattern() -> None:
    refused(config(exposure=ExposureEvent("[1]", "u")), "exposureEvent.eventPattern")
    refused(config(exposure=ExposureEvent("", "u")), "exposureEvent.eventPattern")
    long = json.dumps({"k": ["x" * 1100]})
    refused(config(exposure=ExposureEvent(long, "u")), "exposureEvent.eventPattern")


@pytest.mark.parametrize("key", ["", "k" * 257])
def test_the_exposure_entity_id_key_is_1_to_256_characters(key: str) -> None:
    refused(config(exposure=ExposureEvent(PATTERN, key)), "exposureEvent.entityIdKey")


def test_hypothesis_is_at_most_2048_characters() -> None:
    create(config(hypothesis="h" * 2048))
    refused(config(hypothesis="h" * 2049), "hypothesis")


def test_at_most_20_links() -> None:
    create(config(links={f"k{i}": "v" for i in range(20)}))
    refused(config(links={f"k{i}": "v" for i in range(21)}), "links")


@pytest.mark.parametrize("key", ["", "k" * 65])
def test_link_keys_are_1_to_64_characters(key: str) -> None:
    refused(config(links={key: "v"}), "links")


def test_link_values_are_at_most_2048_characters() -> None:
    create(config(links={"prd": "v" * 2048}))
    refused(config(links={"prd": "v" * 2049}), "links.prd")


@pytest.mark.parametrize("value", ["", "a b", "x/y", "ü", "a" * 128, "line\n"])
def test_subject_type_follows_seed_004s_id_rules(value: str) -> None:
    refused(config(subject_type=value), "subjectType")


@pytest.mark.parametrize("value", ["", "a b", "x/y", "ü", "a" * 128, "line\n"])
def test_parent_id_follows_seed_004s_id_rules(value: str) -> None:
    refused(config(parent_id=value), "parentId")
    with pytest.raises(Invalid):
        agg.lab_id(value)


# -- while running ------------------------------------------------------------------------


def test_hypothesis_links_subject_type_and_parent_change_while_running() -> None:
    running = created(config(), running=True)
    changed = update(
        running,
        config(hypothesis="h2", links={"a": "b"}, subject_type="device", parent_id="lab-2"),
    )
    assert (changed.hypothesis, changed.links) == ("h2", {"a": "b"})
    assert (changed.subject_type, changed.parent_id) == ("DEVICE", "LAB-2")


def test_an_explicit_role_equal_to_its_default_is_no_change() -> None:
    running = created(config(), running=True)
    same = (
        goal(role=MetricRole.PRIMARY),
        goal("orders", metric_type=MetricType.COUNT, role=MetricRole.SECONDARY),
    )
    assert update(running, config(metric_goals=same)).metric_goals == same


@pytest.mark.parametrize(
    ("second", "field"),
    [
        (goal("orders", metric_type=MetricType.SUM), "metricGoals[1].metricType"),
        (
            goal("orders", metric_type=MetricType.COUNT, role=MetricRole.GUARDRAIL),
            "metricGoals[1].role",
        ),
        (
            goal("orders", metric_type=MetricType.COUNT, window_seconds=3600),
            "metricGoals[1].conversionWindowSeconds",
        ),
        (
            goal("orders", metric_type=MetricType.COUNT, cap=MetricCap(CapKind.ABSOLUTE, 9.0)),
            "metricGoals[1].cap",
        ),
        (
            goal("orders", metric_type=MetricType.FUNNEL, funnel_steps=(PATTERN,)),
            "metricGoals[1].metricType",
        ),
        (goal("orders", metric_type=MetricType.COUNT, goal=3.0), "metricGoals[1].goal"),
        (goal("renamed", metric_type=MetricType.COUNT), "metricGoals"),
    ],
)
def test_what_a_running_experiment_measures_is_refused_naming_the_member(
    second: MetricGoal, field: str
) -> None:
    running = created(config(), running=True)
    with pytest.raises(Conflict) as caught:
        update(running, config(metric_goals=(goal(), second)))
    assert caught.value.field == field and field in caught.value.message


def test_funnel_steps_formula_and_retention_day_are_frozen_while_running() -> None:
    funnel = goal("checkout", metric_type=MetricType.FUNNEL, funnel_steps=(PATTERN,))
    formula = goal(
        "per_order",
        metric_type=MetricType.FORMULA,
        formula=MetricFormula(FormulaOperator.RATIO, "checkout", "back"),
    )
    retention = goal("back", metric_type=MetricType.RETENTION, retention_day=7)
    running = created(config(metric_goals=(funnel, formula, retention)), running=True)
    changes = {
        "metricGoals[0].funnelSteps": replace(funnel, funnel_steps=(PATTERN, PATTERN)),
        "metricGoals[1].formula": replace(
            formula, formula=MetricFormula(FormulaOperator.DIFFERENCE, "checkout", "back")
        ),
        "metricGoals[2].retentionDay": replace(retention, retention_day=8),
    }
    for i, (field, changed) in enumerate(changes.items()):
        goals = [funnel, formula, retention]
        goals[i] = changed
        with pytest.raises(Conflict) as caught:
            update(running, config(metric_goals=tuple(goals)))
        assert caught.value.field == field


def test_the_exposure_event_is_frozen_while_running() -> None:
    running = created(config(exposure=ExposureEvent(PATTERN, "u")), running=True)
    with pytest.raises(Conflict, match="exposureEvent"):
        update(running, config(exposure=None))
    with pytest.raises(Conflict, match="exposureEvent"):
        update(running, config(exposure=ExposureEvent(PATTERN, "v")))
    draft = created(config(exposure=ExposureEvent(PATTERN, "u")))
    assert update(draft, config(exposure=None)).exposure is None


def test_a_bad_update_is_invalid_before_it_is_a_conflict() -> None:
    running = created(config(), running=True)
    with pytest.raises(Invalid) as caught:
        update(running, config(parent_id="no spaces"))
    assert caught.value.field == "parentId"


# -- events stored before issue 18 ------------------------------------------------------


def test_an_experiment_created_before_these_members_decodes_with_the_defaults() -> None:
    # ExperimentCreated as schema version 2 stored it before issue 18: no metric type,
    # role, window, cap, funnel, formula or retention on goals; no exposure or seed 004
    # fields on the config.
    payload = {
        "at": "2026-05-01T00:00:00+00:00",
        "project": "p",
        "name": "old",
        "config": {
            "description": None,
            "treatments": [
                {"name": "control", "description": None, "feature": "f", "variation": "a"},
                {"name": "treatment", "description": None, "feature": "f", "variation": "b"},
            ],
            "metric_goals": [
                {
                    "definition": {
                        "name": "revenue",
                        "entity_id_key": "userDetails.userId",
                        "value_key": "details.revenue",
                        "event_pattern": PATTERN,
                        "unit_label": None,
                    },
                    "desired_change": "INCREASE",
                }
            ],
            "control_treatment": "control",
            "treatment_weights": {"control": 50000, "treatment": 50000},
            "randomization_salt": "old",
            "sampling_rate": 100000,
            "segment": None,
            "analysis": {"method": "sequential", "confidence_level": 0.95},
            "sticky_assignment": True,
        },
        "tags": {},
        "experiment_id": "0b5f1f6e-0000-4000-8000-000000000000",
    }
    envelope = Envelope("experiment-p/old", 1, 1, "ExperimentCreated", 2, NOW, payload)
    event = decode_event(upcast(envelope))
    assert isinstance(event, ExperimentCreated)
    stored = event.config
    (old_goal,) = stored.metric_goals
    assert old_goal == MetricGoal(
        MetricDefinition("revenue", "userDetails.userId", "details.revenue", PATTERN)
    )
    assert old_goal.metric_type is MetricType.SUM and old_goal.role is None
    assert (old_goal.goal, old_goal.window_seconds, old_goal.cap) == (None, None, None)
    assert (old_goal.funnel_steps, old_goal.formula, old_goal.retention_day) == ((), None, None)
    assert stored.exposure is None and stored.hypothesis is None and stored.links == {}
    assert (stored.subject_type, stored.parent_id) == ("ANY", "DEFAULT")
