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
    EntityState,
    contribute,
    cumulative_series,
    timeline,
)

BUCKET = 60
METRICS = ("revenue", "clicks")


def expected_at(
    states: dict[str, EntityState], metric: str, treatment: str, cutoff: int
) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) per entity exposed in a bucket below ``cutoff``, from the raw events."""
    xs, ys = [], []
    for state in states.values():
        if state.treatment != treatment or state.exposed_at is None:
            continue
        exposed = math.floor(state.exposed_at)
        if exposed // BUCKET >= cutoff:
            continue
        events = state.events.get(metric, ())
        xs.append(sum(v for ts, v, _ in events if ts < exposed))
        ys.append(sum(v for ts, v, _ in events if exposed <= ts and ts // BUCKET < cutoff))
    return np.array(xs), np.array(ys)


def random_updates(seed: int, size: int) -> list[tuple[str, EntityState]]:
    """A sequence of (entity, new state) as the processor would see them."""
    rng = random.Random(seed)
    states: dict[str, EntityState] = {}
    out = []
    for i in range(size):
        entity = f"u{rng.randrange(12)}"
        state = states.get(entity, EntityState())
        roll = rng.random()
        if roll < 0.25:
            # A first exposure, or an earlier one arriving late.
            state = state.with_exposure(rng.choice(["c", "t"]), rng.uniform(0, 600))
        elif roll < 0.3 and state.exposed_at is not None:
            # A changed treatment: a late exposure that is earlier still.
            state = state.with_exposure(rng.choice(["c", "t"]), state.exposed_at - 1)
        else:
            metric = rng.choice(METRICS)
            state = state.with_event(metric, (rng.uniform(0, 600), rng.uniform(-3, 10), i))
        states[entity] = state
        out.append((entity, state))
    return out


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=1, max_value=80))
def test_incremental_cells_equal_numpy_at_every_bucket(seed: int, size: int) -> None:
    cells: dict[CellKey, Cell] = {}
    current: dict[str, EntityState] = {}
    for entity, state in random_updates(seed, size):
        contribute(cells, CellPlan(METRICS), current.get(entity), state, BUCKET)
        current[entity] = state
    for metric in METRICS:
        for treatment in ("c", "t"):
            mine = {b: cell for (m, t, b), cell in cells.items() if m == metric and t == treatment}
            cutoffs = list(range(0, 12))
            for cutoff, got in zip(cutoffs, cumulative_series(mine, cutoffs), strict=True):
                xs, ys = expected_at(current, metric, treatment, cutoff)
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
    events = tuple((float(t), 1.0, t) for t in range(0, 600, 30))
    before = EntityState("c", 0.0, {"revenue": events})
    after = before.with_event("revenue", (599.0, 2.0, 10_000))
    cells: dict[CellKey, Cell] = {}
    contribute(cells, CellPlan(("revenue",)), None, before, BUCKET)
    touched = contribute(cells, CellPlan(("revenue",)), before, after, BUCKET)
    assert touched == {("revenue", "c", 9)}


def test_the_covariate_counts_only_the_window_before_exposure() -> None:
    day = 86_400.0
    exposed = 20 * day
    events = ((1 * day, 5.0, 1), (10 * day, 7.0, 2), (exposed - 1, 11.0, 3), (exposed + 60, 3.0, 4))
    state = EntityState("c", exposed, {"m": events})
    two_weeks = timeline(state, "m", 3600, 14 * day)
    assert two_weeks[0][1] == 18.0  # days 10 and 19; day 1 is outside the window
    assert two_weeks[-1][2] == 3.0
    assert timeline(state, "m", 3600, 30 * day)[0][1] == 23.0
    assert timeline(state, "m", 3600, 1 * day)[0][1] == 11.0
