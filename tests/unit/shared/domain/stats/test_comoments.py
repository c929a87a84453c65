"""CoMoments against numpy on raw pairs; merge equals pushing everything.

Values are multiples of 0.001 in [-1000, 1000], as metric values are, so a sample's variance
is either exactly zero or far from underflow. Tolerance: 1e-9 relative, with an absolute floor
scaled to the sample's spread, since co-moments near zero carry only rounding.
"""

from __future__ import annotations

from functools import reduce

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.stats.comoments import CoMoments
from shared.domain.stats.moments import Moments

value = st.integers(min_value=-1_000_000, max_value=1_000_000).map(lambda i: i / 1000)
pairs = st.lists(st.tuples(value, value), min_size=0, max_size=150)


def pushed(values: list[tuple[float, float]]) -> CoMoments:
    return reduce(lambda c, p: c.push(*p), values, CoMoments())


def floor(values: list[tuple[float, float]]) -> float:
    """An absolute tolerance for second moments: 1e-9 of the sample's raw sum of squares."""
    return 1e-9 * (1.0 + sum(x * x + y * y for x, y in values))


@settings(max_examples=60, deadline=None)
@given(pairs)
def test_push_matches_numpy(values: list[tuple[float, float]]) -> None:
    c = pushed(values)
    assert c.n == len(values)
    if not values:
        return
    x = np.array([p[0] for p in values])
    y = np.array([p[1] for p in values])
    assert c.mean_x == pytest.approx(x.mean(), rel=1e-9, abs=1e-9)
    assert c.mean_y == pytest.approx(y.mean(), rel=1e-9, abs=1e-9)
    tol = floor(values)
    assert c.m2_x == pytest.approx(((x - x.mean()) ** 2).sum(), rel=1e-9, abs=tol)
    assert c.m2_y == pytest.approx(((y - y.mean()) ** 2).sum(), rel=1e-9, abs=tol)
    assert c.c_xy == pytest.approx(((x - x.mean()) * (y - y.mean())).sum(), rel=1e-9, abs=tol)
    if len(values) > 1:
        assert c.variance_x == pytest.approx(np.var(x, ddof=1), rel=1e-9, abs=tol)
        assert c.variance_y == pytest.approx(np.var(y, ddof=1), rel=1e-9, abs=tol)
        assert c.covariance == pytest.approx(np.cov(x, y, ddof=1)[0, 1], rel=1e-9, abs=tol)


@settings(max_examples=60, deadline=None)
@given(pairs)
def test_marginals_are_the_univariate_moments(values: list[tuple[float, float]]) -> None:
    c = pushed(values)
    mx = reduce(Moments.push, [p[0] for p in values], Moments())
    my = reduce(Moments.push, [p[1] for p in values], Moments())
    # Both updates run the same arithmetic on each coordinate, so they agree exactly.
    assert c.x == mx
    assert c.y == my


@settings(max_examples=60, deadline=None)
@given(pairs, pairs)
def test_merge_equals_push_all(
    left: list[tuple[float, float]], right: list[tuple[float, float]]
) -> None:
    merged = pushed(left).merge(pushed(right))
    whole = pushed(left + right)
    tol = floor(left + right)
    assert merged.n == whole.n
    assert merged.mean_x == pytest.approx(whole.mean_x, rel=1e-9, abs=1e-9)
    assert merged.mean_y == pytest.approx(whole.mean_y, rel=1e-9, abs=1e-9)
    assert merged.m2_x == pytest.approx(whole.m2_x, rel=1e-9, abs=tol)
    assert merged.m2_y == pytest.approx(whole.m2_y, rel=1e-9, abs=tol)
    assert merged.c_xy == pytest.approx(whole.c_xy, rel=1e-9, abs=tol)


def test_merge_with_empty_is_identity() -> None:
    c = pushed([(1.0, 2.0), (3.0, 5.0)])
    assert c.merge(CoMoments()) == c
    assert CoMoments().merge(c) == c


def test_thin_samples_have_zero_spread() -> None:
    one = pushed([(4.0, 7.0)])
    assert (one.variance_x, one.variance_y, one.covariance) == (0.0, 0.0, 0.0)
