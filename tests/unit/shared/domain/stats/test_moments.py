"""Moments against numpy on raw samples; merge equals pushing everything."""

from __future__ import annotations

from functools import reduce

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.stats.moments import Moments

samples = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=0,
    max_size=200,
)


def pushed(values: list[float]) -> Moments:
    return reduce(Moments.push, values, Moments())


@given(samples)
def test_push_matches_numpy(values: list[float]) -> None:
    m = pushed(values)
    assert m.n == len(values)
    if values:
        assert m.mean == pytest.approx(np.mean(values), rel=1e-9, abs=1e-6)
    if len(values) > 1:
        assert m.variance == pytest.approx(np.var(values, ddof=1), rel=1e-9, abs=1e-3)


@given(samples, samples)
def test_merge_equals_push_all(left: list[float], right: list[float]) -> None:
    merged = pushed(left).merge(pushed(right))
    whole = pushed(left + right)
    assert merged.n == whole.n
    assert merged.mean == pytest.approx(whole.mean, rel=1e-9, abs=1e-6)
    assert merged.m2 == pytest.approx(whole.m2, rel=1e-9, abs=1e-3)


def test_json_round_trip() -> None:
    m = pushed([1.0, 2.5, 4.0])
    assert Moments.from_json(m.to_json()) == m
