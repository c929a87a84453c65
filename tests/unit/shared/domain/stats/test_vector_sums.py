"""Exact vector sums against exact rational arithmetic, numpy, and the two-variable sums.

The reference is Python's ``fractions`` on the very points the sums saw: means and
covariances agree to 1e-9 relative (the sums are exact, so they agree to the last rounding),
whatever the offset (up to 1e12), the order of additions and removals, and the buckets.
Against numpy.cov on well-scaled raw data the tolerance is 1e-9 relative (numpy rounds).
"""

from __future__ import annotations

import math
import random
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.stats.sums import EMPTY, InconsistentSums, PowerSums
from shared.domain.stats.vector_sums import CoMatrix, VectorSums

Vector = tuple[float, ...]


def exact_means_and_covariances(
    points: list[Vector],
) -> tuple[list[Fraction], list[list[Fraction]]]:
    n = len(points)
    d = len(points[0])
    columns = [[Fraction(p[i]) for p in points] for i in range(d)]
    means = [sum(c, Fraction(0)) / n for c in columns]
    deviations = [[v - means[i] for v in c] for i, c in enumerate(columns)]
    cov = [
        [
            sum((a * b for a, b in zip(deviations[i], deviations[j], strict=True)), Fraction(0))
            / (n - 1)
            for j in range(d)
        ]
        for i in range(d)
    ]
    return means, cov


def close(got: float, want: Fraction, rel: float = 1e-9) -> bool:
    reference = float(want)
    return got == reference or math.isclose(got, reference, rel_tol=rel, abs_tol=0.0)


def assert_matches(c: CoMatrix, points: list[Vector]) -> None:
    means, cov = exact_means_and_covariances(points)
    assert c.n == len(points)
    for i, mean in enumerate(means):
        assert close(c.means[i], mean), (i, c.means[i], float(mean))
        for j in range(len(means)):
            assert close(c.covariance(i, j), cov[i][j]), (i, j, c.covariance(i, j))


def total(points: list[Vector], dimension: int) -> VectorSums:
    s = VectorSums.zero(dimension)
    for p in points:
        s = s + VectorSums.point(p)
    return s


offsets = st.one_of(
    st.just(0.0),
    st.sampled_from([10.0**k for k in range(13)]),
    st.floats(min_value=-1e12, max_value=1e12, allow_nan=False),
)


@settings(max_examples=200, deadline=None)
@given(
    dimension=st.integers(min_value=1, max_value=5),
    offsets_=st.lists(offsets, min_size=5, max_size=5),
    spread=st.floats(min_value=1e-3, max_value=1e6),
    kept=st.integers(min_value=2, max_value=30),
    dropped=st.integers(min_value=0, max_value=30),
    buckets=st.integers(min_value=1, max_value=6),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_adding_and_removing_in_any_order_is_exact_at_any_offset(
    dimension: int,
    offsets_: list[float],
    spread: float,
    kept: int,
    dropped: int,
    buckets: int,
    seed: int,
) -> None:
    rng = random.Random(seed)

    def draw() -> Vector:
        # Correlated coordinates, so the off-diagonal entries are not all near zero.
        common = rng.gauss(0.0, 1.0)
        return tuple(
            offsets_[i] + spread * (common + rng.uniform(-1.0, 1.0)) for i in range(dimension)
        )

    stay = [draw() for _ in range(kept)]
    go = [draw() if rng.random() < 0.5 else (0.0,) * dimension for _ in range(dropped)]
    operations: list[tuple[Vector, int]] = [(p, +1) for p in stay + go]
    rng.shuffle(operations)
    for p in go:
        at = operations.index((p, +1))
        operations.insert(rng.randint(at + 1, len(operations)), (p, -1))
    cells = [VectorSums.zero(dimension)] * buckets
    for point, sign in operations:
        b = rng.randrange(buckets)
        one = VectorSums.point(point)
        cells[b] = cells[b] + one if sign > 0 else cells[b] - one
    merged = VectorSums.zero(0)
    for cell in cells:
        merged = merged + cell
    assert merged == total(stay, dimension)
    assert_matches(merged.comatrix(), stay)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=1, max_value=4).flatmap(
        lambda d: st.lists(
            st.tuples(*[st.integers(-1_000_000, 1_000_000).map(lambda i: i / 1000)] * d),
            min_size=2,
            max_size=80,
        )
    )
)
def test_covariances_match_numpy_on_raw_data(points: list[Vector]) -> None:
    d = len(points[0])
    c = total(points, d).comatrix()
    raw = np.array(points)
    cov = np.atleast_2d(np.cov(raw, rowvar=False, ddof=1))
    floor = 1e-9 * (1.0 + float((raw * raw).sum()))
    for i in range(d):
        assert c.means[i] == pytest.approx(raw[:, i].mean(), rel=1e-9, abs=1e-9)
        assert c.moments(i).variance == pytest.approx(cov[i, i], rel=1e-9, abs=floor)
        for j in range(d):
            assert c.covariance(i, j) == pytest.approx(cov[i, j], rel=1e-9, abs=floor)
            # The matrix is symmetric by construction, not just to rounding.
            assert c.m2[i][j] == c.m2[j][i]


@settings(max_examples=100, deadline=None)
@given(
    st.integers(min_value=1, max_value=4).flatmap(
        lambda d: st.lists(st.tuples(*[st.floats(-1e15, 1e15)] * d), min_size=1, max_size=25)
    ),
    st.randoms(use_true_random=False),
)
def test_equal_multisets_are_equal_objects(points: list[Vector], rng: random.Random) -> None:
    d = len(points[0])
    shuffled = list(points)
    rng.shuffle(shuffled)
    forward = total(points, d)
    assert forward == total(shuffled, d)
    # A point added and taken out again leaves no trace, not even in the scale.
    tiny = VectorSums.point((1e-300,) * d)
    assert forward + tiny - tiny == forward
    assert VectorSums.from_json(forward.to_json()) == forward
    assert forward - forward == VectorSums.zero(d)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(-1e15, 1e15), st.floats(-1e15, 1e15)), min_size=0, max_size=30))
def test_dimension_two_is_power_sums(points: list[tuple[float, float]]) -> None:
    vector = total(list(points), 2)
    pair = EMPTY
    for x, y in points:
        pair = pair + PowerSums.point(x, y)
    assert (vector.n, vector.scale) == (pair.n, pair.scale)
    assert vector.first == (pair.sx, pair.sy)
    assert vector.second == (pair.sxx, pair.sxy, pair.syy)
    try:
        want = pair.comoments()
    except OverflowError:
        with pytest.raises(OverflowError):
            vector.comatrix()
        return
    assert vector.comatrix().comoments(0, 1) == want


def test_zero_of_any_dimension_is_the_identity() -> None:
    p = VectorSums.point((1.5, -2.0, 3.25))
    for d in (0, 1, 3, 4):
        assert p + VectorSums.zero(d) == p
        assert VectorSums.zero(d) + p == p
    with pytest.raises(ValueError):
        _ = p + VectorSums.point((1.0, 2.0))
    empty = VectorSums.zero(3).comatrix()
    assert empty.n == 0
    assert empty.means == (0.0, 0.0, 0.0)
    assert empty.covariance(0, 1) == 0.0


def test_one_point_has_zero_covariance() -> None:
    c = VectorSums.point((7.0, -1.0)).comatrix()
    assert c.means == (7.0, -1.0)
    assert c.m2 == ((0.0, 0.0), (0.0, 0.0))
    assert c.covariance(0, 0) == 0.0


def test_sums_that_no_multiset_has_are_an_error() -> None:
    one = VectorSums.point((1.0, 2.0, 3.0))
    zero = VectorSums.point((0.0, 0.0, 0.0))
    with pytest.raises(InconsistentSums, match="negative count"):
        (VectorSums.zero(3) - one).comatrix()
    with pytest.raises(InconsistentSums, match="no points"):
        (one - VectorSums.point((1.0, 2.0, 4.0))).comatrix()
    with pytest.raises(InconsistentSums, match="negative sum of squared deviations"):
        (
            zero + zero + zero - VectorSums.point((0.0, 0.0, 5.0)) - VectorSums.point((0, 0, -5))
        ).comatrix()


def test_non_finite_values_are_refused() -> None:
    for bad in (math.inf, -math.inf, math.nan):
        with pytest.raises((ValueError, OverflowError)):
            VectorSums.point((0.0, bad))


def test_json_is_text_for_wide_integers_and_checks_its_shape() -> None:
    s = VectorSums.point((1e300, -3e-300)) + VectorSums.point((2.0, 1.0))
    data = s.to_json()
    assert all(isinstance(v, str) for v in data["first"] + data["second"])
    assert VectorSums.from_json(data) == s
    with pytest.raises(ValueError):
        VectorSums.from_json({**data, "second": data["second"][:-1]})
    with pytest.raises(ValueError):
        VectorSums.from_json({**data, "k": -1})


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(*[st.floats(-1e9, 1e9)] * 4), min_size=0, max_size=20),
    st.lists(st.integers(-3, 3), min_size=4, max_size=4),
    st.lists(st.integers(-3, 3), min_size=4, max_size=4),
)
def test_integer_combinations_are_the_power_sums_of_the_combined_points(
    points: list[Vector], a: list[int], b: list[int]
) -> None:
    """Exact sums of x = a.v, y = b.v: the points combined in fractions, then summed."""
    want = EMPTY
    for p in points:
        x = sum((Fraction(c) * Fraction(v) for c, v in zip(a, p, strict=True)), Fraction(0))
        y = sum((Fraction(c) * Fraction(v) for c, v in zip(b, p, strict=True)), Fraction(0))
        # Each combination is a dyadic rational too, held exactly by PowerSums' integers.
        want = want + _exact_pair(x, y)  # adding canonicalises
    assert total(points, 4).pair(a, b) == want


def _exact_pair(x: Fraction, y: Fraction) -> PowerSums:
    """PowerSums of one dyadic pair without going through a double (which may round it)."""
    k = max(x.denominator.bit_length(), y.denominator.bit_length()) - 1
    px, py = x * 2**k, y * 2**k
    assert px.denominator == py.denominator == 1
    a, c = int(px), int(py)
    return PowerSums(1, k, a, c, a * a, c * c, a * c)
