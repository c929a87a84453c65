"""The evaluation rules as pure functions: order, reasons, splits, sampling, stickiness."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from scipy import stats

from shared.domain.evaluation import FeatureRules, Reason, compile_rules, evaluate
from shared.domain.events import (
    ExperimentConfig,
    LaunchConfig,
    LaunchGroup,
    MetricDefinition,
    MetricGoal,
    ScheduledStep,
    SegmentOverride,
    Treatment,
)
from shared.domain.experiment import Experiment
from shared.domain.feature import Feature
from shared.domain.launch import Launch
from shared.domain.values import ValueType, VariableValue, Variation

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NOW = (T0 + timedelta(hours=1)).timestamp()
GOAL = MetricGoal(MetricDefinition("m", "u", "v"))
SEGMENTS = {"pro": '{"plan": ["pro"]}', "us": '{"country": ["US"]}'}


def feature(overrides: dict[str, str] | None = None, strategy: str = "ALL_RULES") -> Feature:
    return Feature(
        project="p",
        name="f",
        description=None,
        variations=tuple(Variation(n, VariableValue(ValueType.STRING, n)) for n in ("a", "b", "c")),
        default_variation="a",
        evaluation_strategy=strategy,
        entity_overrides=overrides or {},
        tags={},
        created_at=T0,
        updated_at=T0,
    )


def launch(steps: tuple[ScheduledStep, ...]) -> Launch:
    config = LaunchConfig(
        None,
        (LaunchGroup("gb", None, "f", "b"), LaunchGroup("gc", None, "f", "c")),
        (),
        "launch-salt",
        steps,
    )
    return Launch("p", "l", config, {}, "RUNNING", T0, T0)


def experiment(
    weights: dict[str, int] | None = None,
    sampling: int = 100_000,
    segment: str | None = None,
    winner: str | None = None,
    sticky: bool = True,
    complete: datetime | None = None,
) -> Experiment:
    config = ExperimentConfig(
        None,
        (
            Treatment("control", None, "f", "a"),
            Treatment("t1", None, "f", "b"),
            Treatment("t2", None, "f", "c"),
        ),
        (GOAL,),
        "control",
        weights or {"control": 50_000, "t1": 25_000, "t2": 25_000},
        "exp-salt",
        sampling,
        segment,
        sticky_assignment=sticky,
    )
    return Experiment(
        "p",
        "e",
        config,
        {},
        "RUNNING",
        T0,
        T0,
        started_at=T0,
        analysis_complete_time=complete or T0 + timedelta(days=7),
        winner=winner,
    )


def rules(
    launch_: Launch | None = None, experiment_: Experiment | None = None, **kw: object
) -> FeatureRules:
    return compile_rules(feature(**kw), launch_, experiment_, SEGMENTS)  # type: ignore[arg-type]


class Sticky:
    def __init__(self) -> None:
        self.data: dict[tuple[str, str], str] = {}

    def get(self, experiment: str, entity_id: str) -> str | None:
        return self.data.get((experiment, entity_id))


def test_override_beats_everything() -> None:
    r = rules(launch((ScheduledStep(T0, {"gb": 100_000}),)), experiment(), overrides={"vip": "c"})
    e = evaluate(r, "vip", {}, NOW)
    assert (e.variation, e.reason) == ("c", Reason.ENTITY_OVERRIDES_MATCH)
    assert e.rule_kind is None


def test_launch_beats_experiment_and_its_remainder_falls_through() -> None:
    r = rules(launch((ScheduledStep(T0, {"gb": 30_000}),)), experiment())
    reasons = Counter(evaluate(r, f"u{i}", {}, NOW).reason for i in range(20_000))
    assert set(reasons) == {Reason.LAUNCH_RULE_MATCH, Reason.EXPERIMENT_RULE_MATCH}
    share = reasons[Reason.LAUNCH_RULE_MATCH] / 20_000
    assert share == pytest.approx(0.30, abs=0.02)
    decided = evaluate(
        r,
        next(
            f"u{i}"
            for i in range(100)
            if evaluate(r, f"u{i}", {}, NOW).reason == Reason.LAUNCH_RULE_MATCH
        ),
        {},
        NOW,
    )
    assert decided.details == {"launch": "l", "group": "gb"}


def test_current_step_is_the_last_one_started() -> None:
    steps = (
        ScheduledStep(T0, {"gb": 100_000}),
        ScheduledStep(T0 + timedelta(hours=2), {"gc": 100_000}),
    )
    r = rules(launch(steps))
    assert evaluate(r, "x", {}, NOW).variation == "b"
    assert evaluate(r, "x", {}, NOW + 2 * 3600).variation == "c"
    before = rules(launch((ScheduledStep(T0 + timedelta(days=1), {"gb": 100_000}),)))
    assert evaluate(before, "x", {}, NOW).reason == Reason.DEFAULT


def test_segment_overrides_in_evaluation_order() -> None:
    step = ScheduledStep(
        T0,
        {"gb": 100_000},
        (
            SegmentOverride("us", 2, {"gb": 100_000}),
            SegmentOverride("pro", 1, {"gc": 100_000}),
        ),
    )
    r = rules(launch((step,)))
    assert evaluate(r, "x", {"plan": "pro", "country": "US"}, NOW).variation == "c"
    assert evaluate(r, "x", {"country": "US"}, NOW).variation == "b"
    assert evaluate(r, "x", {}, NOW).variation == "b"


def test_partial_override_weights_fall_through_to_the_step() -> None:
    step = ScheduledStep(T0, {"gb": 100_000}, (SegmentOverride("pro", 1, {"gc": 40_000}),))
    r = rules(launch((step,)))
    counts = Counter(evaluate(r, f"u{i}", {"plan": "pro"}, NOW).variation for i in range(10_000))
    assert counts["c"] / 10_000 == pytest.approx(0.4, abs=0.02)
    assert counts["b"] + counts["c"] == 10_000


def test_experiment_segment_sampling_and_default() -> None:
    r = rules(None, experiment(segment="pro"))
    assert evaluate(r, "x", {"plan": "free"}, NOW).reason == Reason.DEFAULT
    assert evaluate(r, "x", {"plan": "pro"}, NOW).reason == Reason.EXPERIMENT_RULE_MATCH
    none_in = rules(None, experiment(sampling=0))
    assert all(evaluate(none_in, f"u{i}", {}, NOW).reason == Reason.DEFAULT for i in range(1000))


def test_default_variation_strategy_switches_rules_off() -> None:
    r = rules(
        launch((ScheduledStep(T0, {"gb": 100_000}),)), experiment(), strategy="DEFAULT_VARIATION"
    )
    assert evaluate(r, "x", {}, NOW).reason == Reason.DEFAULT


def test_experiment_ends_at_its_analysis_complete_time() -> None:
    r = rules(None, experiment(complete=T0 + timedelta(minutes=30)))
    assert evaluate(r, "x", {}, NOW).reason == Reason.DEFAULT


def test_declared_winner_goes_to_everyone() -> None:
    r = rules(
        None,
        experiment(winner="t2", segment="pro", sampling=0, complete=T0 + timedelta(minutes=30)),
    )
    e = evaluate(r, "anyone", {}, NOW)
    assert (e.variation, e.reason) == ("c", Reason.EXPERIMENT_RULE_MATCH)
    assert e.details == {"experiment": "e", "treatment": "t2", "winnerDeclared": True}


def test_split_fidelity_chi_square() -> None:
    r = rules(None, experiment({"control": 50_000, "t1": 30_000, "t2": 20_000}))
    n = 100_000
    counts = Counter(evaluate(r, f"entity-{i}", {}, NOW).details["treatment"] for i in range(n))
    observed = [counts["control"], counts["t1"], counts["t2"]]
    assert stats.chisquare(observed, [n * 0.5, n * 0.3, n * 0.2]).pvalue > 0.001


def test_sampling_and_split_are_independent() -> None:
    r = rules(None, experiment({"control": 50_000, "t1": 50_000, "t2": 0}, sampling=50_000))
    table = np.zeros((2, 2))
    for i in range(100_000):
        e = evaluate(r, f"entity-{i}", {}, NOW)
        entered = e.reason == Reason.EXPERIMENT_RULE_MATCH
        # The split decision as if entered, to cross-tabulate against entering.
        as_if = evaluate(
            rules(None, experiment({"control": 50_000, "t1": 50_000, "t2": 0})),
            f"entity-{i}",
            {},
            NOW,
        ).details["treatment"]
        table[int(entered), int(as_if == "t1")] += 1
    assert stats.chi2_contingency(table).pvalue > 0.001


def test_raising_the_sampling_rate_keeps_everyone_in_their_treatment() -> None:
    low = rules(None, experiment(sampling=10_000, sticky=False))
    high = rules(None, experiment(sampling=20_000, sticky=False))
    before = {f"u{i}": evaluate(low, f"u{i}", {}, NOW) for i in range(20_000)}
    kept = [eid for eid, e in before.items() if e.reason == Reason.EXPERIMENT_RULE_MATCH]
    assert len(kept) > 1500
    for eid in kept:
        assert evaluate(high, eid, {}, NOW).details == before[eid].details


def test_sticky_assignment_survives_a_weight_change() -> None:
    sticky = Sticky()
    first = rules(None, experiment({"control": 100_000, "t1": 0, "t2": 0}))
    e = evaluate(first, "u1", {}, NOW, sticky)
    assert e.newly_assigned and e.details["treatment"] == "control"
    sticky.data[(first.experiment.key, "u1")] = "control"  # type: ignore[union-attr]
    moved = rules(None, experiment({"control": 0, "t1": 100_000, "t2": 0}, sampling=0))
    again = evaluate(moved, "u1", {}, NOW, sticky)
    assert again.details["treatment"] == "control" and not again.newly_assigned
    assert evaluate(moved, "u2", {}, NOW, sticky).reason == Reason.DEFAULT
    off = rules(None, experiment({"control": 0, "t1": 100_000, "t2": 0}, sticky=False))
    assert evaluate(off, "u1", {}, NOW, sticky).details["treatment"] == "t1"
