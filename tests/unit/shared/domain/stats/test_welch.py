"""Welch's test from Moments against scipy.stats.ttest_ind(equal_var=False) on the raw data.

Tolerance 1e-9 relative (p-values also 1e-12 absolute, for those that round to nothing): both
sides evaluate the same formula, ours from one-pass moments and scipy's from two-pass numpy,
so they differ only by rounding in the moments.
"""

from __future__ import annotations

import warnings
from functools import reduce

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import stats

from shared.domain.stats.moments import Moments
from shared.domain.stats.vocabulary import UNBOUNDED, Alternative, DesiredChange, Interval, Reason
from shared.domain.stats.welch import welch
from tests.unit.shared.domain.stats.simulation import welch_p_values

value = st.integers(min_value=-100_000, max_value=1_000_000).map(lambda i: i / 1000)
arm = st.lists(value, min_size=2, max_size=120)
alternatives = st.sampled_from(list(Alternative))
confidences = st.sampled_from([0.8, 0.9, 0.95, 0.99])


def moments(values: list[float] | np.ndarray) -> Moments:
    return reduce(Moments.push, [float(v) for v in values], Moments())


def approx(expected: float) -> object:
    return pytest.approx(expected, rel=1e-9, abs=1e-12)


@settings(max_examples=80, deadline=None)
@given(arm, arm, alternatives, confidences)
def test_matches_scipy_on_raw_data(
    control: list[float], treatment: list[float], alternative: Alternative, confidence: float
) -> None:
    result = welch(
        moments(control), moments(treatment), confidence=confidence, alternative=alternative
    )
    # Constant arms, told apart by their values: numpy's two-pass variance of a constant arm
    # can round to 1e-37 where the one-pass moments stay exactly zero.
    if np.ptp(control) == 0.0 and np.ptp(treatment) == 0.0:
        assert result.reason is Reason.ZERO_VARIANCE
        assert result.p_value == 1.0
        return
    with warnings.catch_warnings():
        # scipy flags an arm whose values are all equal; Welch's test is still defined there.
        warnings.filterwarnings("ignore", "Precision loss", RuntimeWarning)
        reference = stats.ttest_ind(
            treatment, control, equal_var=False, alternative=alternative.value
        )
    ci = reference.confidence_interval(confidence)
    assert result.reason is None
    assert result.t == approx(reference.statistic)
    assert result.dof == approx(reference.df)
    assert result.p_value == approx(reference.pvalue)
    assert result.absolute.estimate == approx(np.mean(treatment) - np.mean(control))
    assert result.absolute.interval.low == approx(ci.low)
    assert result.absolute.interval.high == approx(ci.high)


@settings(max_examples=60, deadline=None)
@given(arm, arm, alternatives)
def test_relative_effect_is_the_delta_method(
    control: list[float], treatment: list[float], alternative: Alternative
) -> None:
    c, t = np.asarray(control), np.asarray(treatment)
    assume(c.mean() > 1.0 and (np.ptp(c) > 0.0 or np.ptp(t) > 0.0))
    result = welch(moments(c), moments(t), alternative=alternative)
    lift = t.mean() / c.mean() - 1.0
    variance = t.var(ddof=1) / (len(t) * c.mean() ** 2) + t.mean() ** 2 * c.var(ddof=1) / (
        len(c) * c.mean() ** 4
    )
    if variance == 0.0:
        assert result.relative.reason is Reason.ZERO_VARIANCE
        return
    tail = 0.05 if alternative is not Alternative.TWO_SIDED else 0.025
    half = stats.t.isf(tail, result.dof) * np.sqrt(variance)
    assert result.relative.reason is None
    assert result.relative.estimate == approx(lift)
    assert result.relative.se == approx(np.sqrt(variance))
    low = lift - half if alternative is not Alternative.LESS else -np.inf
    high = lift + half if alternative is not Alternative.GREATER else np.inf
    assert result.relative.interval.low == approx(low)
    assert result.relative.interval.high == approx(high)


def test_a_textbook_example() -> None:
    # Two fixed samples whose Welch statistics are checked against scipy once more by hand:
    # this pins the sign convention (treatment minus control) and the one-sided intervals.
    control = [19.1, 20.3, 18.7, 21.0, 20.2, 19.8, 20.5]
    treatment = [21.4, 22.0, 20.9, 23.1, 21.7, 22.4]
    result = welch(moments(control), moments(treatment), alternative=Alternative.GREATER)
    reference = stats.ttest_ind(treatment, control, equal_var=False, alternative="greater")
    assert result.t > 0
    assert result.p_value == approx(reference.pvalue)
    assert result.absolute.interval.high == np.inf
    assert result.significant


def test_thin_arms_report_not_enough_data() -> None:
    for control, treatment in [([], [1.0, 2.0]), ([1.0], [1.0, 2.0]), ([1.0, 2.0], [3.0])]:
        result = welch(moments(control), moments(treatment))
        assert result.reason is Reason.NOT_ENOUGH_DATA
        assert result.p_value == 1.0
        assert result.absolute.interval == UNBOUNDED
        assert not result.significant


def test_zero_variance_in_both_arms() -> None:
    result = welch(moments([3.0, 3.0, 3.0]), moments([4.0, 4.0]))
    assert result.reason is Reason.ZERO_VARIANCE
    assert result.absolute.estimate == 1.0
    assert result.relative.estimate == pytest.approx(1.0 / 3.0)


def test_zero_control_mean_only_drops_the_relative_effect() -> None:
    result = welch(moments([-1.0, 1.0, 0.0]), moments([1.0, 2.0, 3.0]))
    assert result.reason is None
    assert result.relative.reason is Reason.ZERO_CONTROL_MEAN
    assert result.relative.interval == UNBOUNDED


def test_confidence_outside_the_unit_interval_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        welch(moments([1.0, 2.0]), moments([1.0, 2.0]), confidence=1.0)


def test_desired_change_picks_the_one_sided_alternative() -> None:
    assert Alternative.for_desired_change("INCREASE") is Alternative.GREATER
    assert Alternative.for_desired_change(DesiredChange.DECREASE) is Alternative.LESS


def test_interval_helpers() -> None:
    a = Interval(-1.0, 2.0)
    assert a.intersect(Interval(0.5, 3.0)) == Interval(0.5, 2.0)
    assert a.intersect(Interval(3.0, 4.0)).is_empty
    assert a.contains(0.0) and not a.contains(2.5)


@pytest.mark.parametrize("alternative", list(Alternative))
def test_vectorised_twin_equals_the_scalar_test(alternative: Alternative) -> None:
    rng = np.random.default_rng(7)
    n_c = rng.integers(2, 500, size=50).astype(float)
    n_t = rng.integers(2, 500, size=50).astype(float)
    mean_c, mean_t = rng.normal(10, 1, 50), rng.normal(10, 1, 50)
    var_c, var_t = rng.uniform(0.5, 4, 50), rng.uniform(0.5, 4, 50)
    batch = welch_p_values(n_c, mean_c, var_c, n_t, mean_t, var_t, alternative)
    for i in range(50):
        c = Moments(int(n_c[i]), mean_c[i], var_c[i] * (n_c[i] - 1))
        t = Moments(int(n_t[i]), mean_t[i], var_t[i] * (n_t[i] - 1))
        assert batch[i] == approx(welch(c, t, alternative=alternative).p_value)


def gbstats_relative(treated: np.ndarray, control: np.ndarray) -> tuple[float, float, float]:
    """gbstats' TTest with difference_type "relative", written out from its published
    formulas on raw outcomes: (lift, se, dof)."""
    mt, mc = treated.mean(), control.mean()
    vt, vc = treated.var(ddof=1), control.var(ddof=1)
    nt, nc = len(treated), len(control)
    se = np.sqrt(vt / (mc**2 * nt) + mt**2 * vc / (mc**4 * nc))
    dof = (vt / nt + vc / nc) ** 2 / ((vt / nt) ** 2 / (nt - 1) + (vc / nc) ** 2 / (nc - 1))
    return float(mt / mc - 1), float(se), float(dof)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=0, max_value=2**32),
    st.sampled_from([Alternative.TWO_SIDED, Alternative.GREATER, Alternative.LESS]),
)
def test_the_relative_effect_is_one_hypothesis(seed: int, alternative: Alternative) -> None:
    """The lift's p-value is its own t-test (gbstats), and it is below alpha exactly when
    the lift's interval excludes zero; the same holds on the absolute scale."""
    rng = np.random.default_rng(seed)
    control = rng.normal(10.0, 3.0, int(rng.integers(5, 200)))
    treated = rng.normal(10.0 + rng.normal(0, 1.0), 3.0, int(rng.integers(5, 200)))
    result = welch(moments(control), moments(treated), confidence=0.9, alternative=alternative)
    lift, se, dof = gbstats_relative(treated, control)
    t = lift / se
    expected = {
        Alternative.TWO_SIDED: 2 * stats.t.sf(abs(t), dof),
        Alternative.GREATER: stats.t.sf(t, dof),
        Alternative.LESS: stats.t.cdf(t, dof),
    }[alternative]
    assert result.relative.estimate == pytest.approx(lift, rel=1e-9)
    assert result.relative.p_value == pytest.approx(expected, rel=1e-6, abs=1e-300)
    for effect in (result.relative, result.absolute):
        assume(abs(effect.p_value - 0.1) > 1e-9)
        assert (effect.p_value < 0.1) == (not effect.interval.contains(0.0))


def test_a_negative_control_mean_keeps_the_lift_on_the_side_of_the_difference() -> None:
    """Profit or net revenue can be negative: from -2 to -1 is an improvement of 50%, not
    a lift of -50% (mean_t / mean_c - 1 would say the opposite of the difference)."""
    rng = np.random.default_rng(4)
    control, treated = rng.normal(-2.0, 0.5, 400), rng.normal(-1.0, 0.5, 400)
    result = welch(moments(control), moments(treated), alternative=Alternative.GREATER)
    assert result.absolute.estimate > 0 and result.relative.estimate > 0
    assert result.relative.estimate == pytest.approx(
        (treated.mean() - control.mean()) / abs(control.mean()), rel=1e-12
    )
    assert result.relative.p_value < 1e-6 and result.absolute.p_value < 1e-6
