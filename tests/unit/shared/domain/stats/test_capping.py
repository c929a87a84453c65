"""Percentile capping: the bins hold what they say, the cap is the nearest-rank quantile within
the bins' relative width, and the capped sums equal numpy's winsorization at that cap."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.domain.stats.capping import GAMMA, OFFSET, bin_of, cap_of, capped, upper
from shared.domain.stats.sums import EMPTY, PowerSums

finite = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)


@given(finite)
@settings(max_examples=500)
def test_a_number_lies_in_its_bin(y: float) -> None:
    key = bin_of(y)
    assert y <= upper(key)
    if key > 0:
        assert y > upper(key - 1)
    if key < 0:
        assert y >= -(GAMMA ** (-key - OFFSET))


@given(finite, finite)
def test_keys_sort_as_numbers(a: float, b: float) -> None:
    if a < b:
        assert bin_of(a) <= bin_of(b)


def test_the_cap_is_the_nearest_rank_percentile_within_a_bin_and_exact_winsorization() -> None:
    rng = np.random.default_rng(3)
    y = np.concatenate([np.zeros(300), rng.lognormal(3, 1.5, 1700), -rng.exponential(2, 50)])
    x = rng.normal(0, 1, y.size)
    counts: dict[int, int] = {}
    bins: dict[int, PowerSums] = {}
    for xi, yi in zip(x, y, strict=True):
        key = bin_of(float(yi))
        counts[key] = counts.get(key, 0) + 1
        bins[key] = bins.get(key, EMPTY) + PowerSums.point(float(xi), float(yi))
    cap = cap_of(counts, 99.0)
    assert cap is not None
    exact = np.sort(y)[int(np.ceil(0.99 * y.size)) - 1]  # the nearest-rank 99th percentile
    assert exact <= cap.value <= exact * GAMMA
    winsorized = np.minimum(y, cap.value)
    total, touched = capped(bins, cap)
    assert touched == int((y > cap.value).sum()) == cap.touched
    m = total.comoments()
    assert m.n == y.size
    assert m.mean_y == pytest.approx(winsorized.mean(), rel=1e-12)
    assert m.variance_y == pytest.approx(winsorized.var(ddof=1), rel=1e-9)
    assert m.covariance == pytest.approx(np.cov(x, winsorized, ddof=1)[0, 1], rel=1e-9)
    assert m.mean_x == pytest.approx(x.mean(), rel=1e-12, abs=1e-15)


def test_no_entities_no_cap() -> None:
    assert cap_of({}, 99.0) is None


def test_with_y_is_exact_at_any_scale() -> None:
    sums = PowerSums.point(0.1, 3.0) + PowerSums.point(1e-9, 2.5)
    moved = sums.with_y(0.3)
    assert moved == PowerSums.point(0.1, 0.3) + PowerSums.point(1e-9, 0.3)
