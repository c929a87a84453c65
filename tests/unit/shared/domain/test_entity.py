"""The processor's per-entity state stays bounded, and exact where the cells need it."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import orjson
import pytest

from shared.domain.cells import timeline
from shared.domain.entity import (
    MAX_AFTER_BUCKETS,
    MAX_COARSE_SLOTS,
    MAX_FINE_SLOTS,
    MAX_RECENT_IDS,
    MAX_SEEN,
    MAX_STEP_SECONDS,
    EntityState,
    MetricHistory,
)
from shared.streams import encode_entity_row

BUCKET = 3600
MAX_FUNNEL_STEPS = 10  # the definition's eventPattern and at most 9 funnelSteps
DAY = 86_400


def test_the_largest_possible_row_is_under_64_kb() -> None:
    """Every bound filled, three metrics (Evidently's maximum) with the longest names, the
    longest values JSON can print, the longest ids and keys."""
    value = -1.2345678901234567e149
    count = 10**12  # more events than any slot can see in its lifetime
    history = MetricHistory(
        after=tuple((10**9 + i, value, count) for i in range(MAX_AFTER_BUCKETS)),
        fine=tuple((10**12 + i, value, count) for i in range(MAX_FINE_SLOTS)),
        coarse=tuple((10**6 - i, value, count) for i in range(MAX_COARSE_SLOTS, 0, -1)),
        recent=tuple(-(2**63) + i for i in range(MAX_RECENT_IDS)),
        # A funnel's ten steps (the first and nine more), each with its bound of seconds.
        steps=tuple(
            tuple(10**12 + j for j in range(MAX_STEP_SECONDS)) for _ in range(MAX_FUNNEL_STEPS)
        ),
    )
    metrics = {f"{k}{'m' * 254}": history for k in range(3)}
    state = EntityState(
        BUCKET,
        "t" * 127,
        1.7e9 + 0.123456,
        metrics,
        assigned_at=1.7e9 + 0.654321,
        seen=tuple(10**12 + j for j in range(MAX_SEEN)),
        crossed=True,
    )
    key, row = encode_entity_row("x" * 200 + "|" + "u" * 512, state, 63)
    assert len(key) + len(row) < 96 * 1024


def test_a_heavy_entity_stays_bounded_and_keeps_its_totals() -> None:
    """10^5 events over 40 days around its exposure: the row stays within its bounds, and
    every post-exposure value still counts, in the last point of the timeline."""
    rng = random.Random(5)
    exposed = 20 * DAY + 0.5
    state = EntityState(BUCKET).with_exposure("t", exposed)
    after_total = 0.0
    for i in range(100_000):
        ts = float(rng.randrange(0, 40 * DAY))
        value = rng.uniform(0, 10)
        state = state.with_event("m", ts, value, i)
        if ts >= math.floor(exposed):
            after_total += value
    history = state.history("m")
    assert len(history.after) <= MAX_AFTER_BUCKETS
    assert len(history.fine) <= MAX_FINE_SLOTS and len(history.coarse) <= MAX_COARSE_SLOTS
    assert len(history.recent) == MAX_RECENT_IDS
    points = timeline(state, "m", BUCKET)
    assert points[-1][2] == pytest.approx(after_total, rel=1e-9)
    key, row = encode_entity_row("k", state, 0)
    assert len(row) < 64 * 1024
    assert EntityState.from_json(orjson.loads(row), BUCKET) == state


def test_duplicates_are_dropped_within_the_horizon() -> None:
    state = EntityState(BUCKET).with_exposure("t", 0.0)
    for i in range(MAX_RECENT_IDS):
        state = state.with_event("m", 10.0, 1.0, i)
    assert state.with_event("m", 10.0, 1.0, 0) is state  # still remembered
    state = state.with_event("m", 10.0, 1.0, MAX_RECENT_IDS)  # pushes id 0 out
    again = state.with_event("m", 10.0, 1.0, 0)
    assert again is not state  # beyond the horizon: counted again, as the README says
    assert state.with_event("m", 10.0, 1.0, MAX_RECENT_IDS) is state


def test_an_earlier_exposure_moves_exactly_the_seconds_after_it() -> None:
    state = EntityState(60)
    for second, value in ((100, 1.0), (130, 2.0), (131, 4.0), (200, 8.0)):
        state = state.with_event("m", float(second), value, second)
    late = state.with_exposure("c", 150.9)
    assert timeline(late, "m", 60) == ((2, 7.0, 0.0), (3, 7.0, 8.0))
    earlier = late.with_exposure("c", 130.2)
    assert timeline(earlier, "m", 60) == ((2, 1.0, 6.0), (3, 1.0, 14.0))
    # The whole second is the boundary; a later exposure changes nothing but marks the
    # entity as assigned two treatments.
    crossed = earlier.with_exposure("t", 140.0)
    assert crossed.crossed and not earlier.crossed
    assert crossed == replace(earlier, crossed=True)
    assert earlier.with_exposure("c", 140.0) is earlier


def test_old_seconds_become_days_and_the_window_still_counts_them() -> None:
    state = EntityState(60)
    start = 30 * DAY
    for k in range(100):  # one event an hour, 100 hours before the exposure
        state = state.with_event("m", float(start + 3600 * k), 1.0, k)
    history = state.history("m")
    assert len(history.fine) <= MAX_FINE_SLOTS and history.coarse
    exposed = state.with_exposure("c", start + 100 * 3600.0)
    first = timeline(exposed, "m", 60, covariate_seconds=10 * DAY)[0]
    assert first[1] == 100.0  # every pre-exposure event, fine or per day, in the window
    narrow = timeline(exposed, "m", 60, covariate_seconds=10 * 3600)[0]
    assert narrow[1] == 10.0  # the last ten hours, to the second
    # A window start inside a day summed as one slot leaves that day out: the events of
    # hours 68 to 99 are seconds, 48 to 67 the third day, and the second day (24 to 47)
    # holds the start (hour 27).
    wide = timeline(exposed, "m", 60, covariate_seconds=3 * DAY + 3600)[0]
    assert wide[1] == 32.0 + 20.0
