"""Incremental per-bucket aggregates against a recomputation from raw per-entity sums.

The processor moves one entity's contribution at a time (``contribute``), for
late events, late exposures and changed treatments alike. Whatever the order,
the cumulative aggregate at any bucket must equal numpy over the entities'
(x, y) at that bucket.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.cells import (
    Cell,
    CellKey,
    CellPlan,
    contribute,
    cumulative_series,
    timeline,
)
from shared.domain.entity import EntityState

BUCKET = 60
METRICS = ("revenue", "clicks")


Ledger = dict[str, dict[str, object]]


def expected_at(
    ledger: Ledger, metric: str, treatment: str, cutoff: int
) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) per entity exposed in a bucket below ``cutoff``, from the raw events."""
    xs, ys = [], []
    for entry in ledger.values():
        exposed_at = entry["exposed"]
        if entry["treatment"] != treatment or exposed_at is None:
            continue
        assert isinstance(exposed_at, float)
        exposed = math.floor(exposed_at)
        if exposed // BUCKET >= cutoff:
            continue
        events = entry["events"]
        assert isinstance(events, list)
        mine = [(ts, v) for m, ts, v in events if m == metric]
        xs.append(sum(v for ts, v in mine if ts < exposed))
        ys.append(sum(v for ts, v in mine if exposed <= ts and ts // BUCKET < cutoff))
    return np.array(xs), np.array(ys)


def random_updates(seed: int, size: int) -> tuple[list[tuple[str, EntityState]], Ledger]:
    """A sequence of (entity, new state) as the processor would see them, and the raw
    events and exposures behind the final states."""
    rng = random.Random(seed)
    states: dict[str, EntityState] = {}
    ledger: Ledger = {}
    out = []
    for i in range(size):
        entity = f"u{rng.randrange(12)}"
        state = states.get(entity, EntityState(BUCKET))
        entry = ledger.setdefault(entity, {"exposed": None, "treatment": None, "events": []})
        roll = rng.random()
        if roll < 0.3 and (roll < 0.25 or state.exposed_at is not None):
            # A first exposure, or an earlier one arriving late (a changed treatment).
            at = rng.uniform(0, 600) if roll < 0.25 else (state.exposed_at or 0.0) - 1
            treatment = rng.choice(["c", "t"])
            state = state.with_exposure(treatment, at)
            if entry["exposed"] is None or at < entry["exposed"]:  # type: ignore[operator]
                entry["exposed"], entry["treatment"] = at, treatment
        else:
            metric = rng.choice(METRICS)
            ts, value = rng.uniform(0, 600), rng.uniform(-3, 10)
            state = state.with_event(metric, ts, value, i)
            entry["events"].append((metric, ts, value))  # type: ignore[union-attr]
        states[entity] = state
        out.append((entity, state))
    return out, ledger


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=1, max_value=80))
def test_incremental_cells_equal_numpy_at_every_bucket(seed: int, size: int) -> None:
    cells: dict[CellKey, Cell] = {}
    current: dict[str, EntityState] = {}
    updates, ledger = random_updates(seed, size)
    for entity, state in updates:
        contribute(cells, CellPlan.of(METRICS), current.get(entity), state, BUCKET)
        current[entity] = state
    for metric in METRICS:
        for treatment in ("c", "t"):
            mine = {b: cell for (m, t, b), cell in cells.items() if m == metric and t == treatment}
            cutoffs = list(range(0, 12))
            for cutoff, got in zip(cutoffs, cumulative_series(mine, cutoffs), strict=True):
                xs, ys = expected_at(ledger, metric, treatment, cutoff)
                c = got.comoments
                assert c.n == len(ys)
                assert got.conversions == int((ys > 0).sum())
                if len(ys):
                    assert c.mean_y == pytest.approx(ys.mean(), abs=1e-9)
                    assert c.mean_x == pytest.approx(xs.mean(), abs=1e-9)
                if len(ys) > 1:
                    assert c.variance_y == pytest.approx(ys.var(ddof=1), abs=1e-8)
                    assert c.covariance == pytest.approx(np.cov(xs, ys, ddof=1)[0, 1], abs=1e-8)


def test_an_event_in_the_last_bucket_touches_only_that_bucket() -> None:
    before = EntityState(BUCKET).with_exposure("c", 0.0)
    for t in range(0, 600, 30):
        before = before.with_event("revenue", float(t), 1.0, t)
    after = before.with_event("revenue", 599.0, 2.0, 10_000)
    cells: dict[CellKey, Cell] = {}
    contribute(cells, CellPlan.of(("revenue",)), None, before, BUCKET)
    touched = contribute(cells, CellPlan.of(("revenue",)), before, after, BUCKET)
    assert touched == {("revenue", "c", 9)}


def test_the_covariate_counts_only_the_window_before_exposure() -> None:
    day = 86_400.0
    exposed = 20 * day
    events = ((1 * day, 5.0, 1), (10 * day, 7.0, 2), (exposed - 1, 11.0, 3), (exposed + 60, 3.0, 4))
    state = EntityState(3600).with_exposure("c", exposed)
    for ts, value, event_id in events:
        state = state.with_event("m", ts, value, event_id)
    two_weeks = timeline(state, "m", 3600, 14 * day)
    assert two_weeks[0][1] == 18.0  # days 10 and 19; day 1 is outside the window
    assert two_weeks[-1][2] == 3.0
    assert timeline(state, "m", 3600, 30 * day)[0][1] == 23.0
    assert timeline(state, "m", 3600, 1 * day)[0][1] == 11.0
