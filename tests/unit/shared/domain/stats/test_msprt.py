"""mSPRT against a direct numpy transcription of Johari et al.'s formulas on raw data, the
running min / intersection helpers, and an A/A peeking simulation for validity.

Tolerance for the transcription: 1e-9 relative (p-values also 1e-12 absolute); the two sides
evaluate the same closed forms from moments computed in different orders.
"""

from __future__ import annotations

import math
from functools import reduce

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from shared.domain.stats.mixture import (
    DEFAULT_N_STAR,
    half_width,
    log_likelihood_ratio,
    mixing_rho2,
)
from shared.domain.stats.moments import Moments
from shared.domain.stats.msprt import (
    SequentialLook,
    _msprt_p_values,
    msprt,
    running_intersection,
    running_p_values,
    sequential_series,
)
from shared.domain.stats.vocabulary import UNBOUNDED, Interval, Reason
from tests.unit.shared.domain.stats.simulation import welch_p_values

value = st.integers(min_value=0, max_value=100_000).map(lambda i: i / 1000)
arm = st.lists(value, min_size=2, max_size=120)
confidences = st.sampled_from([0.9, 0.95, 0.99])
n_stars = st.sampled_from([100.0, 1000.0, DEFAULT_N_STAR, 50_000.0])


def moments(values: list[float] | np.ndarray) -> Moments:
    return reduce(Moments.push, [float(v) for v in values], Moments())


def approx(expected: float) -> object:
    return pytest.approx(expected, rel=1e-9, abs=1e-12)


def paper(
    control: np.ndarray, treatment: np.ndarray, alpha: float, n_star: float
) -> tuple[float, float, float, float, float]:
    """Johari et al.'s normal-mixture Lambda_n, p-value and CS, written out on raw arrays."""
    d = treatment.mean() - control.mean()
    v = treatment.var(ddof=1) / treatment.size + control.var(ddof=1) / control.size
    rho2 = (-2 * np.log(alpha) + np.log(1 - 2 * np.log(alpha))) / n_star
    tau2 = rho2 * (control.size + treatment.size) * v
    with np.errstate(over="ignore"):
        lam = np.sqrt(v / (v + tau2)) * np.exp(tau2 * d**2 / (2 * v * (v + tau2)))
    p = min(1.0, 1.0 / lam)
    h = np.sqrt(v * (v + tau2) / tau2 * (np.log((v + tau2) / v) - 2 * np.log(alpha)))
    return float(d), float(tau2), float(p), float(d - h), float(d + h)


@settings(max_examples=80, deadline=None)
@given(arm, arm, confidences, n_stars)
def test_matches_the_paper_on_raw_data(
    control: list[float], treatment: list[float], confidence: float, n_star: float
) -> None:
    c, t = np.asarray(control), np.asarray(treatment)
    look = msprt(moments(c), moments(t), confidence=confidence, n_star=n_star)
    # Constant arms, told apart by their values: numpy's two-pass variance of a constant arm
    # can round to 1e-37 where the one-pass moments stay exactly zero.
    if np.ptp(c) == 0.0 and np.ptp(t) == 0.0:
        assert look.reason is Reason.ZERO_VARIANCE
        return
    d, tau2, p, low, high = paper(c, t, 1.0 - confidence, n_star)
    assert look.reason is None
    assert look.n == c.size + t.size
    assert look.absolute.estimate == approx(d)
    assert look.tau2 == approx(tau2)
    assert look.p_value == approx(p)
    assert look.absolute.interval.low == approx(low)
    assert look.absolute.interval.high == approx(high)
    assert look.significant == (look.p_value < 1.0 - confidence)


@settings(max_examples=40, deadline=None)
@given(arm, arm)
def test_relative_sequence_uses_the_delta_method_variance(
    control: list[float], treatment: list[float]
) -> None:
    c, t = np.asarray(control), np.asarray(treatment)
    if c.mean() < 1.0 or (np.ptp(c) == 0.0 and np.ptp(t) == 0.0):
        return
    look = msprt(moments(c), moments(t))
    lift = t.mean() / c.mean() - 1.0
    v = t.var(ddof=1) / (t.size * c.mean() ** 2) + t.mean() ** 2 * c.var(ddof=1) / (
        c.size * c.mean() ** 4
    )
    if v == 0.0:
        assert look.relative.reason is Reason.ZERO_VARIANCE
        return
    tau2 = mixing_rho2(0.05) * (c.size + t.size) * v
    h = np.sqrt(v * (v + tau2) / tau2 * (np.log((v + tau2) / v) - 2 * np.log(0.05)))
    assert look.relative.estimate == approx(lift)
    assert look.relative.interval.low == approx(lift - h)
    assert look.relative.interval.high == approx(lift + h)


def test_the_sequence_is_the_inverted_test() -> None:
    # At the edge of the CS, the mixture likelihood ratio of H0: effect = edge is exactly 1/alpha.
    v, tau2, alpha, d = 0.04, 0.3, 0.05, 0.7
    h = half_width(v, tau2, alpha)
    assert log_likelihood_ratio(h, v, tau2) == pytest.approx(math.log(1 / alpha), rel=1e-12)
    assert log_likelihood_ratio(d - (d + h), v, tau2) == pytest.approx(
        math.log(1 / alpha), rel=1e-12
    )


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1])
def test_rho_makes_the_sequence_near_tightest_at_n_star(alpha: float) -> None:
    n_star = DEFAULT_N_STAR

    def width(log_rho2: float) -> float:
        rho2 = math.exp(log_rho2)
        # Unit per-observation variance at n = N*: V = 1/N*, tau^2 = rho^2.
        return half_width(1.0 / n_star, rho2, alpha)

    best = optimize.minimize_scalar(width, bounds=(-20.0, 5.0), method="bounded")
    assert width(math.log(mixing_rho2(alpha, n_star))) <= best.fun * (1 + 1e-3)


@pytest.mark.parametrize("n", [10, 1000, 5000, 10**6])
def test_equals_the_asymptotic_confidence_sequence(n: int) -> None:
    # With tau^2 = rho^2 n V, the mSPRT's half-width is the asymptotic CS of Waudby-Smith et al.
    # (arXiv 2103.06476) that GrowthBook reports: sigma sqrt(2 (n rho^2 + 1) / (n^2 rho^2)
    # log(sqrt(n rho^2 + 1) / alpha)), sigma^2 the per-observation variance.
    alpha, sigma2 = 0.05, 7.3
    rho2 = mixing_rho2(alpha)
    v = sigma2 / n
    asymptotic = math.sqrt(
        sigma2 * 2 * (n * rho2 + 1) / (n * n * rho2) * math.log(math.sqrt(n * rho2 + 1) / alpha)
    )
    assert half_width(v, rho2 * n * v, alpha) == pytest.approx(asymptotic, rel=1e-12)


def test_mixing_rho2_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        mixing_rho2(0.0)
    with pytest.raises(ValueError):
        mixing_rho2(0.05, 0.0)


def test_running_p_values_is_the_running_minimum() -> None:
    assert running_p_values([0.8, 0.3, 0.5, 0.04, 0.2]) == (0.8, 0.3, 0.3, 0.04, 0.04)
    assert running_p_values([]) == ()


def test_running_intersection_narrows() -> None:
    series = running_intersection(
        [Interval(-2.0, 3.0), UNBOUNDED, Interval(-1.0, 4.0), Interval(-3.0, 1.0)]
    )
    assert series == (
        Interval(-2.0, 3.0),
        Interval(-2.0, 3.0),
        Interval(-1.0, 3.0),
        Interval(-1.0, 1.0),
    )
    assert running_intersection([Interval(0.0, 1.0), Interval(2.0, 3.0)])[-1].is_empty


def test_sequential_series_over_cumulative_looks() -> None:
    rng = np.random.default_rng(11)
    control, treatment = Moments(), Moments()
    looks: list[SequentialLook] = [msprt(control, treatment)]
    for _ in range(15):
        control = control.merge(moments(rng.normal(10.0, 2.0, 200)))
        treatment = treatment.merge(moments(rng.normal(10.3, 2.0, 200)))
        looks.append(msprt(control, treatment))
    series = sequential_series(looks)
    assert looks[0].reason is Reason.NOT_ENOUGH_DATA
    assert series[0].p_value == 1.0 and series[0].absolute.interval == UNBOUNDED
    for before, after in zip(series, series[1:], strict=False):
        assert after.p_value <= before.p_value
        assert before.absolute.interval.low <= after.absolute.interval.low
        assert after.absolute.interval.high <= before.absolute.interval.high
        assert before.relative.interval.low <= after.relative.interval.low
    assert [s.p_value for s in series] == list(running_p_values([x.p_value for x in looks]))
    # A 3% shift at 3000 per arm with sd 2 is found, and its sequence excludes zero.
    assert series[-1].significant
    assert series[-1].absolute.interval.low > 0.0


def test_thin_data() -> None:
    assert msprt(Moments(), Moments()).reason is Reason.NOT_ENOUGH_DATA
    flat = msprt(moments([1.0, 1.0]), moments([2.0, 2.0]))
    assert flat.reason is Reason.ZERO_VARIANCE and flat.p_value == 1.0
    zero = msprt(moments([-1.0, 1.0]), moments([0.0, 2.0]))
    assert zero.reason is None and zero.relative.reason is Reason.ZERO_CONTROL_MEAN


def test_vectorised_twin_equals_the_scalar_look() -> None:
    rng = np.random.default_rng(3)
    n_c = rng.integers(2, 5000, size=60).astype(float)
    n_t = rng.integers(2, 5000, size=60).astype(float)
    mean_c, mean_t = rng.normal(5, 0.2, 60), rng.normal(5, 0.2, 60)
    var_c, var_t = rng.uniform(0.5, 4, 60), rng.uniform(0.5, 4, 60)
    batch = _msprt_p_values(n_c, mean_c, var_c, n_t, mean_t, var_t, confidence=0.9, n_star=800)
    for i in range(60):
        c = Moments(int(n_c[i]), mean_c[i], var_c[i] * (n_c[i] - 1))
        t = Moments(int(n_t[i]), mean_t[i], var_t[i] * (n_t[i] - 1))
        assert batch[i] == approx(msprt(c, t, confidence=0.9, n_star=800).p_value)


EXPERIMENTS = 2000
LOOKS = 20
PER_LOOK = 100  # entities per arm arriving between two looks
ALPHA = 0.05


def cumulative(batches: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, mean, variance) at every look from (experiments, looks, per_look) raw values."""
    n = PER_LOOK * np.arange(1, LOOKS + 1, dtype=np.float64)
    total = batches.sum(axis=2).cumsum(axis=1)
    squares = (batches * batches).sum(axis=2).cumsum(axis=1)
    mean = total / n
    return n, mean, (squares - total * mean) / (n - 1.0)


@pytest.mark.parametrize("metric", ["normal", "conversion"])
def test_peeking_at_every_look_keeps_the_sequential_false_positive_rate(metric: str) -> None:
    rng = np.random.default_rng(20240917)
    shape = (EXPERIMENTS, LOOKS, PER_LOOK)
    if metric == "normal":
        control, treatment = rng.normal(10.0, 3.0, shape), rng.normal(10.0, 3.0, shape)
    else:
        control = (rng.random(shape) < 0.1).astype(np.float64)
        treatment = (rng.random(shape) < 0.1).astype(np.float64)
    n, mean_c, var_c = cumulative(control)
    _, mean_t, var_t = cumulative(treatment)

    sequential = _msprt_p_values(n, mean_c, var_c, n, mean_t, var_t, confidence=1 - ALPHA)
    fixed = welch_p_values(n, mean_c, var_c, n, mean_t, var_t)
    # Stopping at the first significant look rejects exactly when any look is significant.
    sequential_rate = float(np.mean((sequential < ALPHA).any(axis=1)))
    fixed_rate = float(np.mean((fixed < ALPHA).any(axis=1)))
    print(
        f"\nA/A {metric}, {EXPERIMENTS} experiments x {LOOKS} looks, alpha {ALPHA}: "
        f"mSPRT false positives {sequential_rate:.4f}, peeked Welch {fixed_rate:.4f}"
    )
    assert sequential_rate <= ALPHA + 0.005
    assert fixed_rate > 3 * ALPHA


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=2**32))
def test_the_lift_has_its_own_always_valid_p_value(seed: int) -> None:
    """gbstats' sequential p-value (arXiv 2103.06476 eq. 155 as gbstats writes it) on the
    relative scale, from raw outcomes; below alpha exactly when 0 leaves the lift's set."""
    rng = np.random.default_rng(seed)
    control = rng.normal(10.0, 3.0, int(rng.integers(5, 400)))
    treated = rng.normal(10.0 + rng.normal(0, 0.8), 3.0, int(rng.integers(5, 400)))
    look = msprt(moments(control), moments(treated), confidence=0.95)
    mt, mc = treated.mean(), control.mean()
    v = treated.var(ddof=1) / (mc**2 * len(treated)) + mt**2 * control.var(ddof=1) / (
        mc**4 * len(control)
    )
    lift = mt / mc - 1
    n = len(control) + len(treated)
    rho2 = (-2 * np.log(0.05) + np.log(-2 * np.log(0.05) + 1)) / 5000
    st2 = lift**2 * n / v
    evalue = np.exp(rho2 * st2 / (2 * (n * rho2 + 1))) / np.sqrt(n * rho2 + 1)
    assert look.relative.p_value == pytest.approx(min(1.0, 1 / evalue), rel=1e-9)
    for effect in (look.relative, look.absolute):
        if abs(effect.p_value - 0.05) > 1e-9:
            assert (effect.p_value < 0.05) == (not effect.interval.contains(0.0))


def test_the_series_keeps_a_running_minimum_on_each_scale() -> None:
    rng = np.random.default_rng(5)
    control = rng.normal(10.0, 3.0, 2000)
    treated = rng.normal(10.4, 3.0, 2000)
    looks = [msprt(moments(control[:k]), moments(treated[:k])) for k in range(100, 2001, 100)]
    series = sequential_series(looks)
    for scale in ("absolute", "relative"):
        p = [getattr(s, scale).p_value for s in series]
        assert p == list(np.minimum.accumulate([getattr(k, scale).p_value for k in looks]))
        for before, after in zip(series, series[1:], strict=False):
            a, b = getattr(before, scale).interval, getattr(after, scale).interval
            assert a.low <= b.low and b.high <= a.high
