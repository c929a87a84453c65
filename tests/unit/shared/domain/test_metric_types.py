"""Every metric type, the exposure event, windows and caps, folded the processor's way
(observe -> join.fold -> cells) and checked against a brute-force computation on the raw
events of each entity: the per-arm aggregates must be those of the entities' numbers."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np
import pytest

from services.processor.config import cell_plan
from services.processor.join import entity_key, fold
from shared.domain.cells import (
    ASSIGNED,
    CROSSED,
    OVER,
    Cell,
    CellKey,
    contribute,
    cumulative,
    funnel_completion,
)
from shared.domain.entity import DAY, EntityState
from shared.domain.events import (
    AnalysisConfig,
    ExperimentConfig,
    ExposureEvent,
    MetricCap,
    MetricDefinition,
    MetricFormula,
    MetricGoal,
    Treatment,
)
from shared.domain.experiment import Experiment
from shared.domain.observations import EXPOSURE, metric_specs, observe
from shared.domain.rollup import Rollup
from shared.domain.stats.capping import GAMMA
from shared.domain.stats.vocabulary import CapKind, FormulaOperator, MetricType
from shared.streams import Exposure, Observed

BUCKET = 60
T0 = datetime(2026, 1, 1, tzinfo=UTC)
KEY = "x-1"
COVARIATE_DAYS = 1


def goal(name: str, kind: MetricType, pattern: str | None = None, **kw: object) -> MetricGoal:
    definition = MetricDefinition(name, "user", "amount", pattern)
    return MetricGoal(definition, metric_type=kind, **kw)  # type: ignore[arg-type]


def clicked(kind: str) -> str:
    return '{"kind": ["' + kind + '"]}'


GOALS = (
    goal("revenue", MetricType.SUM, clicked("buy")),
    goal("buys", MetricType.COUNT, clicked("buy")),
    goal("buyers", MetricType.UNIQUE_CONVERSIONS, clicked("buy")),
    goal("basket", MetricType.AVERAGE, clicked("buy")),
    goal(
        "checkout",
        MetricType.FUNNEL,
        clicked("view"),
        funnel_steps=(clicked("cart"), clicked("buy")),
        window_seconds=3 * 3600,
    ),
    goal(
        "per_buy",
        MetricType.FORMULA,
        formula=MetricFormula(FormulaOperator.RATIO, "revenue", "buys"),
    ),
    goal(
        "net",
        MetricType.FORMULA,
        formula=MetricFormula(FormulaOperator.DIFFERENCE, "revenue", "buys"),
    ),
    goal("day1", MetricType.RETENTION, clicked("view"), retention_day=1),
    goal("capped", MetricType.SUM, clicked("buy"), cap=MetricCap(CapKind.ABSOLUTE, 25.0)),
    goal("first_hour", MetricType.SUM, clicked("buy"), window_seconds=3600),
)


def experiment(exposure: ExposureEvent | None) -> Experiment:
    config = ExperimentConfig(
        None,
        (Treatment("c", None, "f", "a"), Treatment("t", None, "f", "b")),
        GOALS,
        "c",
        {"c": 50_000, "t": 50_000},
        "salt",
        100_000,
        None,
        analysis=AnalysisConfig(cuped_window_days=COVARIATE_DAYS),
        exposure=exposure,
    )
    return Experiment("p", "e", config, {}, "RUNNING", T0, T0, started_at=T0, experiment_id=KEY)


@dataclass
class Truth:
    """One entity's raw story."""

    treatment: str
    assigned: float
    events: list[tuple[float, str, float]] = field(default_factory=list)  # (ts, kind, amount)
    late_treatment: str | None = None


def story(rng: random.Random) -> Truth:
    assigned = rng.uniform(2 * DAY, 3 * DAY)
    truth = Truth(rng.choice(["c", "t"]), assigned)
    for _ in range(rng.randrange(0, 14)):
        kind = rng.choice(["view", "cart", "buy", "buy", "page"])
        ts = assigned + rng.uniform(-1.5 * DAY, 2.5 * DAY)
        truth.events.append((ts, kind, round(rng.uniform(-5, 40), 2)))
    if rng.random() < 0.1:
        truth.late_treatment = "t" if truth.treatment == "c" else "c"
    return truth


def exposure_second(truth: Truth, by_event: bool) -> int | None:
    start = math.floor(truth.assigned)
    if not by_event:
        return start
    seen = sorted(math.floor(ts) for ts, kind, _ in truth.events if kind == "page")
    return next((s for s in seen if s >= start), None)


def numbers(truth: Truth, exposed: int) -> dict[str, tuple[float, ...]]:
    """The brute-force (x, y) of every scalar metric and (m, d, m_pre, d_pre) of ratios."""
    cov_start = exposed - COVARIATE_DAYS * DAY

    def picked(kind: str, start: int = 0, end: float = math.inf) -> list[float]:
        return [
            v for ts, k, v in truth.events if k == kind and start <= math.floor(ts) - exposed < end
        ]

    def before(kind: str) -> list[float]:
        return [
            v for ts, k, v in truth.events if k == kind and cov_start <= math.floor(ts) < exposed
        ]

    buys, pre = picked("buy"), before("buy")
    out: dict[str, tuple[float, ...]] = {
        "revenue": (sum(pre), sum(buys)),
        "buys": (len(pre), len(buys)),
        "buyers": (float(bool(pre)), float(bool(buys))),
        "basket": (sum(buys), len(buys), sum(pre), len(pre)),
        "capped": (min(sum(pre), 25.0), min(sum(buys), 25.0)),
        "first_hour": (sum(pre), sum(picked("buy", 0, 3600))),
        "day1": (0.0, float(bool(picked("view", DAY, 2 * DAY)))),
    }
    out["per_buy"] = (sum(buys), len(buys), sum(pre), len(pre))
    out["net"] = (sum(pre) - len(pre), sum(buys) - len(buys))
    # The funnel: view, then cart, then buy, in order, within 3 hours of the exposure.
    at = exposed
    done = True
    for kind in ("view", "cart", "buy"):
        times = sorted(math.floor(ts) for ts, k, _ in truth.events if k == kind)
        nxt = next((s for s in times if s >= at), None)
        if nxt is None:
            done = False
            break
        at = nxt
    out["checkout"] = (0.0, float(done and at - exposed < 3 * 3600))
    return out


def updates_of(truths: dict[str, Truth], x: Experiment, rng: random.Random) -> list[object]:
    specs = metric_specs(x)
    updates: list[object] = []
    event_id = 0
    for entity, truth in truths.items():
        updates.append(Exposure(KEY, entity, truth.treatment, truth.assigned))
        if truth.late_treatment is not None:
            updates.append(Exposure(KEY, entity, truth.late_treatment, truth.assigned + 60))
        for ts, kind, amount in truth.events:
            event_id += 1
            data = {"kind": kind, "user": entity, "amount": amount}
            for o in observe(specs, data):
                updates.append(Observed(o, ts, event_id))
    # Metric events arrive in any order, before or after their entity's exposure; the
    # updates that expose (assignments and exposure events) arrive in time order, so no
    # exposure moves earlier after its window placed events (entity.py: exact to the bucket).
    exposing = [u for u in updates if _exposing(u)]
    exposing.sort(key=lambda u: u.timestamp)  # type: ignore[attr-defined]
    others = [u for u in updates if not _exposing(u)]
    rng.shuffle(others)
    merged: list[object] = []
    while exposing or others:
        if exposing and (not others or rng.random() < 0.5):
            merged.append(exposing.pop(0))
        else:
            merged.append(others.pop())
    return merged


def _exposing(update: object) -> bool:
    return isinstance(update, Exposure) or (
        isinstance(update, Observed) and update.observation.metric == EXPOSURE
    )


def fold_all(
    x: Experiment, truths: dict[str, Truth], seed: int
) -> tuple[dict[CellKey, Cell], dict[str, EntityState]]:
    plan = cell_plan(x)
    updates = updates_of(truths, x, random.Random(seed))
    table: dict[str, EntityState] = {}
    cells: dict[CellKey, Cell] = {}
    # Batches of 50: rows are written and cells moved per batch, as the join does.
    for i in range(0, len(updates), 50):
        folded = fold(updates[i : i + 50], table.get, BUCKET, None, lambda _k: plan.rules)  # type: ignore[arg-type]
        for key, change in folded.changes.items():
            contribute(cells, plan, change.before, change.after, BUCKET)
            table[key] = change.after
    return cells, table


def arm(cells: dict[CellKey, Cell], metric: str, treatment: str) -> object:
    return cumulative(c for (m, t, _), c in cells.items() if m == metric and t == treatment)


@pytest.mark.parametrize("by_event", [False, True])
def test_every_metric_type_equals_brute_force_on_raw_events(by_event: bool) -> None:
    rng = random.Random(7 + by_event)
    truths = {f"u{i}": story(rng) for i in range(400)}
    exposure = ExposureEvent(clicked("page"), "user") if by_event else None
    x = experiment(exposure)
    cells, _table = fold_all(x, truths, seed=11)
    per: dict[tuple[str, str], list[tuple[float, ...]]] = {}
    assigned: dict[str, int] = {"c": 0, "t": 0}
    crossed: dict[str, int] = {"c": 0, "t": 0}
    for truth in truths.values():
        assigned[truth.treatment] += 1
        crossed[truth.treatment] += truth.late_treatment is not None
        exposed = exposure_second(truth, by_event)
        if exposed is None:
            continue
        for metric, value in numbers(truth, exposed).items():
            per.setdefault((metric, truth.treatment), []).append(value)
    assert per, "some entities were exposed"
    for (metric, treatment), rows in per.items():
        data = np.array(rows, dtype=float)
        got = arm(cells, metric, treatment)
        if data.shape[1] == 4:
            matrix = got.matrix  # type: ignore[attr-defined]
            assert matrix is not None and matrix.n == len(rows)
            np.testing.assert_allclose(matrix.means, data.mean(axis=0), rtol=1e-12, atol=1e-12)
            cov = np.cov(data, rowvar=False, ddof=1)
            for i in range(4):
                for j in range(4):
                    assert matrix.covariance(i, j) == pytest.approx(cov[i, j], rel=1e-9, abs=1e-9)
        else:
            m = got.comoments  # type: ignore[attr-defined]
            assert m.n == len(rows), (metric, treatment)
            assert m.mean_x == pytest.approx(data[:, 0].mean(), rel=1e-12, abs=1e-12), metric
            assert m.mean_y == pytest.approx(data[:, 1].mean(), rel=1e-12, abs=1e-12), metric
            assert m.variance_y == pytest.approx(data[:, 1].var(ddof=1), rel=1e-9, abs=1e-12)
            assert m.covariance == pytest.approx(
                np.cov(data[:, 0], data[:, 1], ddof=1)[0, 1], rel=1e-9, abs=1e-12
            )
            assert got.conversions == int((data[:, 1] > 0).sum())  # type: ignore[attr-defined]
    for treatment in ("c", "t"):
        n_crossed = arm(cells, CROSSED, treatment).comoments.n  # type: ignore[attr-defined]
        assert n_crossed == crossed[treatment]
        n_assigned = arm(cells, ASSIGNED, treatment).comoments.n  # type: ignore[attr-defined]
        assert n_assigned == (assigned[treatment] if by_event else 0)
    if by_event:
        exposed_n = sum(1 for t in truths.values() if exposure_second(t, True) is not None)
        assert 0 < exposed_n < len(truths), "the test needs both exposed and unexposed entities"


def test_the_funnel_takes_its_steps_in_order_within_the_window() -> None:
    steps: Sequence[Sequence[int]] = ((100, 500), (90, 400), (450,))
    # view at 100, cart at 400 (90 is before the view), buy at 450.
    assert funnel_completion(steps, 50, 3, None) == 450
    assert funnel_completion(steps, 50, 3, 400) is None  # 450 - 50 is past a 400 s window
    assert funnel_completion(steps, 200, 3, None) is None  # after the exposure: view 500, no cart
    assert funnel_completion(steps[:2], 50, 3, None) is None  # no buy step seen


def test_a_window_excludes_events_late_exposure_or_not() -> None:
    x = experiment(None)
    plan = cell_plan(x)
    state = EntityState(BUCKET)
    rules = plan.rules
    # Events first, then the exposure: the fine seconds are windowed exactly at the split.
    for i, ts in enumerate((1000.0, 1000.0 + 3599, 1000.0 + 3600)):
        state = state.with_event("first_hour", ts, 1.0, i, rules)
    late = state.with_exposure("c", 1000.0, rules)
    early = EntityState(BUCKET).with_exposure("c", 1000.0, rules)
    for i, ts in enumerate((1000.0, 1000.0 + 3599, 1000.0 + 3600)):
        early = early.with_event("first_hour", ts, 1.0, i, rules)
    for s in (late, early):
        cells: dict[CellKey, Cell] = {}
        contribute(cells, plan, None, s, BUCKET)
        assert arm(cells, "first_hour", "c").comoments.mean_y == 2.0  # type: ignore[attr-defined]


def test_a_row_with_every_new_field_round_trips() -> None:
    x = experiment(ExposureEvent(clicked("page"), "user"))
    rules = cell_plan(x).rules
    state = EntityState(BUCKET).with_exposure("c", 10.0, rules).with_seen(20, rules)
    state = state.with_event("checkout", 30.0, 1.0, 5, rules).with_exposure("t", 11.0, rules)
    assert state.crossed and state.exposed_at == 20.0 and state.assigned_at == 10.0
    back = EntityState.from_json(state.to_json(), BUCKET)
    assert back == state
    assert entity_key(KEY, "u") == f"{KEY}|u"


def test_an_exposure_that_moves_earlier_takes_its_window_along_by_whole_buckets() -> None:
    x = experiment(ExposureEvent(clicked("page"), "user"))
    rules = cell_plan(x).rules
    state = EntityState(BUCKET).with_exposure("c", 0.0, rules).with_seen(7200, rules)
    # Inside the first hour of the exposure at 7200 s.
    state = state.with_event("first_hour", 7200 + 1800, 5.0, 1, rules)
    assert state.history("first_hour").after == (((7200 + 1800) // BUCKET, 5.0, 1),)
    # An exposure event at 600 s arrives late: the window is now [600, 4200), and 9000 s
    # lies past it.
    earlier = state.with_seen(600, rules)
    assert earlier.exposed_at == 600.0
    assert earlier.history("first_hour").after == ()


def test_caps_through_the_cells_equal_winsorizing_the_raw_numbers() -> None:
    from services.results import report  # the results side reads what the processor wrote

    percentile = goal("p99", MetricType.SUM, clicked("buy"), cap=MetricCap(CapKind.PERCENTILE, 90))
    absolute = goal("a25", MetricType.SUM, clicked("buy"), cap=MetricCap(CapKind.ABSOLUTE, 25.0))
    x = experiment(None)
    x = replace(x, config=replace(x.config, metric_goals=(percentile, absolute)))
    rng = random.Random(5)
    truths = {f"u{i}": story(rng) for i in range(300)}
    cells, _ = fold_all(x, truths, seed=3)
    raw: dict[str, list[float]] = {"c": [], "t": []}
    for truth in truths.values():
        exposed = exposure_second(truth, False)
        assert exposed is not None
        raw[truth.treatment].append(numbers(truth, exposed)["revenue"][1])
    names = ["p99", "a25", "a25" + OVER]
    rollups: dict[tuple[str, str], Rollup] = {}
    for (name, treatment, bucket), cell in cells.items():
        rollups.setdefault((name, treatment), Rollup(BUCKET)).add(bucket * BUCKET, cell, +1)
    looks = report.collect(rollups, names, ["c", "t"], [1e10])
    looks = report.with_caps(looks, rollups, {"p99": 90.0}, ["c", "t"])
    cap = looks.caps["p99"][-1]
    assert cap is not None
    pooled = np.array(raw["c"] + raw["t"])
    exact = np.sort(pooled)[int(np.ceil(0.9 * pooled.size)) - 1]
    assert exact <= cap.value <= max(exact * GAMMA, exact)
    for t in ("c", "t"):
        y = np.array(raw[t])
        m = looks.capped[("p99", t)][-1]
        assert m.mean_y == pytest.approx(np.minimum(y, cap.value).mean(), rel=1e-12)
        assert m.variance_y == pytest.approx(np.minimum(y, cap.value).var(ddof=1), rel=1e-9)
        assert looks.touched[("p99", t)][-1] == int((y > cap.value).sum())
        assert looks.conversions[("a25" + OVER, t)][-1] == int((y > 25.0).sum())
        assert looks.series[("a25", t)][-1].mean_y == pytest.approx(np.minimum(y, 25.0).mean())
