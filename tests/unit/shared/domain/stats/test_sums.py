"""Exact power sums against exact rational arithmetic on the same doubles, at any offset.

The reference is Python's ``fractions`` on the very points the sums saw: the mean, variance
and covariance must agree to 1e-9 relative (the sums are exact, so they agree to the last
rounding), whatever the offset, the spread, the order of additions and removals, and the
buckets the points were spread over.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.cells import Cell, CellKey, CellPlan, contribute, cumulative_series
from shared.domain.entity import EntityState
from shared.domain.stats.comoments import CoMoments
from shared.domain.stats.sums import EMPTY, InconsistentSums, PowerSums

Pair = tuple[float, float]


def exact(points: list[Pair]) -> tuple[int, Fraction, Fraction, Fraction, Fraction, Fraction]:
    """n, means, unbiased variances and covariance of the points, as exact fractions."""
    n = len(points)
    xs = [Fraction(x) for x, _ in points]
    ys = [Fraction(y) for _, y in points]
    mx = sum(xs, Fraction(0)) / n
    my = sum(ys, Fraction(0)) / n
    vx = sum(((x - mx) ** 2 for x in xs), Fraction(0)) / (n - 1)
    vy = sum(((y - my) ** 2 for y in ys), Fraction(0)) / (n - 1)
    cxy = sum(((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)), Fraction(0)) / (n - 1)
    return n, mx, my, vx, vy, cxy


def close(got: float, want: Fraction, rel: float = 1e-9) -> bool:
    reference = float(want)
    return got == reference or math.isclose(got, reference, rel_tol=rel, abs_tol=0.0)


def assert_matches(c: CoMoments, points: list[Pair]) -> None:
    n, mx, my, vx, vy, cxy = exact(points)
    assert c.n == n
    for got, want in (
        (c.mean_x, mx),
        (c.mean_y, my),
        (c.variance_x, vx),
        (c.variance_y, vy),
        (c.covariance, cxy),
    ):
        assert close(got, want), (got, float(want))


offsets = st.one_of(
    st.just(0.0),
    st.sampled_from([10.0**k for k in range(13)]),
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
)
spreads = st.floats(min_value=1e-3, max_value=1e6)


@settings(max_examples=300, deadline=None)
@given(
    offset_x=offsets,
    offset_y=offsets,
    spread=spreads,
    kept=st.integers(min_value=2, max_value=40),
    dropped=st.integers(min_value=0, max_value=40),
    buckets=st.integers(min_value=1, max_value=6),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_adding_and_removing_is_exact_at_any_offset(
    offset_x: float,
    offset_y: float,
    spread: float,
    kept: int,
    dropped: int,
    buckets: int,
    seed: int,
) -> None:
    rng = random.Random(seed)

    def draw() -> Pair:
        return (
            offset_x + spread * rng.uniform(-1.0, 1.0),
            offset_y + spread * rng.gauss(0.0, 1.0),
        )

    stay = [draw() for _ in range(kept)]
    # Removed points come from anywhere: far from the rest, as an entity's y = 0 point is.
    go = [draw() if rng.random() < 0.5 else (0.0, rng.uniform(-1.0, 1.0)) for _ in range(dropped)]
    operations = [(p, +1) for p in stay + go]
    rng.shuffle(operations)
    # Each removal comes after its addition, in a bucket of its own choosing.
    removals = [(p, -1) for p in go]
    for removal in removals:
        operations.insert(
            rng.randint(operations.index((removal[0], +1)) + 1, len(operations)), removal
        )
    cells = [EMPTY] * buckets
    for point, sign in operations:
        b = rng.randrange(buckets)
        one = PowerSums.point(*point)
        cells[b] = cells[b] + one if sign > 0 else cells[b] - one
    total = EMPTY
    for cell in cells:
        total = total + cell
    assert_matches(total.comoments(), stay)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e15, 1e15), st.floats(-1e15, 1e15)), min_size=1, max_size=30))
def test_equal_multisets_have_equal_sums_in_any_order(points: list[Pair]) -> None:
    forward = EMPTY
    for p in points:
        forward = forward + PowerSums.point(*p)
    backward = EMPTY
    for p in reversed(points):
        backward = backward + PowerSums.point(*p)
    assert forward == backward
    # A point added and taken out again leaves no trace, not even in the scale.
    assert forward + PowerSums.point(1e-300, 3.5) - PowerSums.point(1e-300, 3.5) == forward
    assert PowerSums.from_json(forward.to_json()) == forward


def test_the_entity_cells_are_exact_at_an_offset_of_1e9() -> None:
    """The cells' own path: each exposure enters as y = 0, its first event removes that point.

    Values near 1e9 with a spread of 1, across ten buckets: the removal of the y = 0 points
    once cancelled (mean/sd)^2 ulps of M2 and left the variance wrong in its first digit.
    """
    rng = random.Random(7)
    bucket = 60
    cells: dict[CellKey, Cell] = {}
    states: dict[str, EntityState] = {}
    raw: dict[str, tuple[float, float]] = {}
    for i in range(400):
        entity = f"u{i}"
        exposed = EntityState(bucket).with_exposure("c", float(rng.randrange(0, 600)))
        contribute(cells, CellPlan.of(("m",)), None, exposed, bucket)
        assert exposed.exposed_at is not None
        at, value = exposed.exposed_at + rng.uniform(0, 120), 1e9 + rng.gauss(0, 1)
        converted = exposed.with_event("m", at, value, i)
        contribute(cells, CellPlan.of(("m",)), exposed, converted, bucket)
        states[entity] = converted
        raw[entity] = (at, value)
    by_bucket = {b: cell for (_, _, b), cell in cells.items()}
    cutoffs = list(range(1, 14))
    for cutoff, got in zip(cutoffs, cumulative_series(by_bucket, cutoffs), strict=True):
        points = []
        for entity, state in states.items():
            assert state.exposed_at is not None
            if state.exposed_at // bucket >= cutoff:
                continue
            ts, value = raw[entity]
            points.append((0.0, value if ts // bucket < cutoff else 0.0))
        if len(points) > 1:
            assert_matches(got.comoments, points)


def test_sums_that_no_multiset_has_are_an_error() -> None:
    one = PowerSums.point(1.0, 2.0)
    with pytest.raises(InconsistentSums):
        (EMPTY - one).comoments()
    with pytest.raises(InconsistentSums):
        # Two points removed that were never added, one added: n = 1 with a negative M2.
        (
            PowerSums.point(0.0, 0.0)
            + PowerSums.point(0.0, 0.0)
            + PowerSums.point(0.0, 0.0)
            - PowerSums.point(0.0, 5.0)
            - PowerSums.point(0.0, -5.0)
        ).comoments()
    with pytest.raises(InconsistentSums):
        (one + PowerSums.point(0.0, 0.0) - PowerSums.point(0.0, 1.0) - one).comoments()


def test_non_finite_values_are_refused() -> None:
    for bad in (math.inf, -math.inf, math.nan):
        with pytest.raises((ValueError, OverflowError)):
            PowerSums.point(bad, 0.0)


def test_extreme_magnitudes_stay_exact() -> None:
    points = [(1e-300, 1e150), (3e-300, 1e150 + 2**450), (2e-300, 1e150 - 2**451)]
    total = EMPTY
    for p in points:
        total = total + PowerSums.point(*p)
    assert_matches(total.comoments(), points)
