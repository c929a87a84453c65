"""Sample-ratio mismatch against scipy.stats.chisquare on the same counts.

Tolerance 1e-9 relative: both compute Pearson's sum and the chi-square tail from it.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from shared.domain.stats.srm import DEFAULT_THRESHOLD, srm
from shared.domain.stats.vocabulary import Reason

arms = st.integers(min_value=2, max_value=6)


@st.composite
def counts_and_weights(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    k = draw(arms)
    observed = draw(st.lists(st.integers(0, 2_000_000), min_size=k, max_size=k))
    # Evidently's weights: thousandths of a percent, summing to 100 000 or not at all.
    weights = draw(st.lists(st.integers(1, 100_000), min_size=k, max_size=k))
    return observed, weights


@settings(max_examples=100, deadline=None)
@given(counts_and_weights())
def test_matches_scipy_chisquare(case: tuple[list[int], list[int]]) -> None:
    observed, weights = case
    result = srm(observed, weights)
    total = sum(observed)
    if total == 0:
        assert result.reason is Reason.NOT_ENOUGH_DATA
        assert not result.mismatch
        return
    expected = [total * w / sum(weights) for w in weights]
    reference = stats.chisquare(observed, f_exp=expected)
    assert result.reason is None
    assert result.dof == len(observed) - 1
    assert result.statistic == pytest.approx(reference.statistic, rel=1e-9, abs=1e-12)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-300)
    assert result.mismatch == (result.p_value < DEFAULT_THRESHOLD)


def test_a_balanced_split_that_drifted() -> None:
    # 50/50 configured, 50 000 vs 51 000 seen: chi^2 = 2 * 500^2 / 50 500 = 9.9, p = 0.0017,
    # not flagged at 0.001; 50 000 vs 51 500 gives chi^2 = 22.2, p = 2.5e-6, flagged.
    assert not srm([50_000, 51_000], [50_000, 50_000]).mismatch
    flagged = srm([50_000, 51_500], [50_000, 50_000])
    assert flagged.mismatch and flagged.p_value < 0.001


def test_threshold_is_configurable() -> None:
    assert srm([50_000, 51_000], [1, 1], threshold=0.01).mismatch


def test_a_weightless_arm_that_is_empty_is_left_out() -> None:
    with_empty = srm([500, 520, 0], [1, 1, 0])
    without = srm([500, 520], [1, 1])
    assert with_empty == without


def test_a_weightless_arm_with_entities_is_a_mismatch() -> None:
    result = srm([500, 520, 3], [1, 1, 0])
    assert result.mismatch and result.p_value == 0.0 and math.isinf(result.statistic)


def test_thin_or_malformed_input() -> None:
    assert srm([0, 0], [1, 1]).reason is Reason.NOT_ENOUGH_DATA
    assert srm([10, 0], [1, 0]).reason is Reason.NOT_ENOUGH_DATA
    with pytest.raises(ValueError):
        srm([1, 2], [1])
    with pytest.raises(ValueError):
        srm([1, -2], [1, 1])
