"""One-sided mSPRT: the closed form against numerical integration of the half-normal mixture,
its boundary and gbstats' closed-form bound, gbstats' published test vector, and peeking
simulations for the type-I error, the power against the two-sided test and the coverage of
the confidence sequence.

Tolerances: log Lambda against quadrature 1e-9 absolute (quad's relative error is ~1e-13 on
these integrands); the root of the boundary 1e-12 relative. Simulations are seeded; their
binomial standard errors are stated beside each bound.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, optimize, special  # type: ignore[import-untyped]

from shared.domain.stats.mixture import (
    DEFAULT_N_STAR,
    half_width,
    log_likelihood_ratio,
    mixing_rho2,
)
from shared.domain.stats.sequential_one_sided import (
    one_sided_bound,
    one_sided_half_width,
    one_sided_half_width_closed_form,
    one_sided_log_likelihood_ratio,
    one_sided_msprt_effect,
    one_sided_p_value,
    one_sided_p_value_closed_form,
    one_sided_rho2,
)
from shared.domain.stats.vocabulary import Alternative, Interval

ALPHA = 0.05
estimates = st.floats(min_value=-20.0, max_value=20.0)
variances = st.floats(min_value=1e-4, max_value=10.0)
ratios = st.floats(min_value=1e-3, max_value=1e4)  # tau^2 / V
alphas = st.sampled_from([0.001, 0.01, 0.05, 0.1, 0.2, 0.4])


def mixture_by_quadrature(d: float, v: float, tau2: float) -> float:
    """log of 2 int_0^inf N(theta; 0, tau^2) exp((d theta - theta^2 / 2) / V) d theta."""

    def log_integrand(theta: float) -> float:
        normal = -0.5 * math.log(2.0 * math.pi * tau2) - theta * theta / (2.0 * tau2)
        return math.log(2.0) + normal + (d * theta - theta * theta / 2.0) / v

    # Any shift works; the integrand's peak keeps exp() in range.
    precision = 1.0 / v + 1.0 / tau2
    peak = max(0.0, d / v / precision)
    shift = log_integrand(peak)
    end = peak + 40.0 / math.sqrt(precision)
    value, _ = integrate.quad(
        lambda t: math.exp(log_integrand(t) - shift),
        0.0,
        end,
        points=[peak] if 0.0 < peak < end else None,
        epsabs=0.0,
        epsrel=1e-12,
        limit=200,
    )
    return shift + math.log(value)


@pytest.mark.parametrize(
    ("d", "v", "tau2"),
    [
        (0.7, 0.04, 0.3),
        (-0.5, 0.04, 0.3),
        (0.0, 1.0, 1.0),
        (3.0, 0.5, 2.0),
        (0.01, 1e-4, 1e-3),
        (-2.0, 0.1, 5.0),
        (1e-3, 1e-6, 1e-4),
        (0.2, 2.0, 0.01),
    ],
)
def test_closed_form_equals_the_mixture_integral(d: float, v: float, tau2: float) -> None:
    ours = one_sided_log_likelihood_ratio(d, v, tau2)
    assert ours == pytest.approx(mixture_by_quadrature(d, v, tau2), abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(estimates, variances, ratios)
def test_it_is_two_phi_times_the_two_sided_ratio(d: float, v: float, r: float) -> None:
    tau2 = r * v
    x = d * math.sqrt(tau2 / (v * (v + tau2)))
    expected = math.log(2.0) + float(special.log_ndtr(x)) + log_likelihood_ratio(d, v, tau2)
    assert one_sided_log_likelihood_ratio(d, v, tau2) == pytest.approx(expected, rel=1e-9, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(estimates, estimates, variances, ratios)
def test_p_value_is_a_probability_and_falls_as_the_estimate_grows(
    d1: float, d2: float, v: float, r: float
) -> None:
    low, high = sorted((d1, d2))
    tau2 = r * v
    p_low, p_high = one_sided_p_value(low, v, tau2), one_sided_p_value(high, v, tau2)
    assert 0.0 <= p_high <= p_low <= 1.0
    log_lr = one_sided_log_likelihood_ratio(high, v, tau2)
    assert one_sided_log_likelihood_ratio(low, v, tau2) <= log_lr
    # Zero only where 1/Lambda underflows a float.
    assert p_high > 0.0 or log_lr > 700.0
    # No evidence for "greater" from an estimate at or below zero.
    if low <= 0.0:
        assert p_low == 1.0


def test_extreme_estimates_neither_overflow_nor_lose_their_sign() -> None:
    assert one_sided_p_value(-1e8, 1e-4, 1.0) == 1.0
    assert math.isfinite(one_sided_log_likelihood_ratio(-1e8, 1e-4, 1.0))
    assert one_sided_log_likelihood_ratio(1e8, 1e-4, 1.0) > 1e15
    assert one_sided_p_value(1e8, 1e-4, 1.0) == 0.0


@settings(max_examples=150, deadline=None)
@given(variances, ratios, alphas)
def test_the_bound_is_the_inverted_test(v: float, r: float, alpha: float) -> None:
    tau2 = r * v
    u = one_sided_half_width(v, tau2, alpha)
    assert one_sided_log_likelihood_ratio(u, v, tau2) == pytest.approx(
        math.log(1.0 / alpha), rel=1e-12, abs=1e-12
    )
    # gbstats' closed form is an upper bound on the root: wider, and still rejecting there.
    closed = one_sided_half_width_closed_form(v, tau2, alpha)
    assert closed >= u
    assert one_sided_log_likelihood_ratio(closed, v, tau2) > math.log(1.0 / alpha)
    # The two-sided boundary at 2 alpha lies inside the root: not certified at alpha.
    assert half_width(v, tau2, 2.0 * alpha) < u
    assert one_sided_bound(0.3, v, tau2, alpha) == pytest.approx(0.3 - u, rel=1e-15)


@settings(max_examples=200, deadline=None)
@given(estimates, variances, ratios)
def test_gbstats_closed_form_p_value_is_never_below_the_exact_one(
    d: float, v: float, r: float
) -> None:
    tau2 = r * v
    # Equal up to rounding once e^{-a} vanishes beside 1: p_cf / p = Phi(x) / (1 - e^{-a}).
    exact = one_sided_p_value(d, v, tau2)
    assert one_sided_p_value_closed_form(d, v, tau2) >= exact * (1.0 - 1e-12)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1])
def test_the_closed_form_p_value_inverts_the_closed_form_bound(alpha: float) -> None:
    v, tau2 = 0.02, 0.5
    edge = one_sided_half_width_closed_form(v, tau2, alpha)
    assert one_sided_p_value_closed_form(edge, v, tau2) == pytest.approx(alpha, rel=1e-12)


@pytest.mark.parametrize("alpha", [0.01, 0.05, 0.1])
def test_one_sided_rho_makes_the_bound_near_tightest_at_n_star(alpha: float) -> None:
    n_star = DEFAULT_N_STAR

    def width(log_rho2: float) -> float:
        # Unit per-observation variance at N*: V = 1/N*, tau^2 = rho^2 N* V = rho^2.
        return one_sided_half_width(1.0 / n_star, math.exp(log_rho2), alpha)

    best = optimize.minimize_scalar(width, bounds=(-20.0, 5.0), method="bounded")
    assert width(math.log(one_sided_rho2(alpha, n_star))) <= best.fun * (1 + 1e-3)


def gbstats_moments(n: int, total: float, squares: float) -> tuple[float, float]:
    """gbstats' SampleMeanStatistic: mean and (n - 1)-denominator variance."""
    return total / n, (squares - total * total / n) / (n - 1)


def test_gbstats_one_sided_sequential_vector() -> None:
    # gbstats tests/frequentist/test_tests.py, TestSequentialOneSided{Greater,Lesser}TTest,
    # absolute difference, alpha 0.05, sequential_tuning_parameter 5000.
    mean_a, var_a = gbstats_moments(3000, 1396.87, 52377.9767)
    mean_b, var_b = gbstats_moments(3461, 2422.7, 134698.29)
    d, v, n = mean_b - mean_a, var_b / 3461 + var_a / 3000, 3000 + 3461
    assert d == pytest.approx(0.23437666666666668, rel=1e-12)
    assert math.sqrt(v) == pytest.approx(0.12983081254184736, rel=1e-12)
    rho2 = one_sided_rho2(ALPHA)

    p, greater = one_sided_msprt_effect(d, v, rho2, n, ALPHA, Alternative.GREATER, closed_form=True)
    _, less = one_sided_msprt_effect(d, v, rho2, n, ALPHA, Alternative.LESS, closed_form=True)
    assert greater.low == pytest.approx(-0.12656844172804982, rel=1e-12)
    assert less.high == pytest.approx(0.5953217750613832, rel=1e-12)
    # gbstats bisects alpha and returns the midpoint of its last bracket, ~1e-4 from the root.
    assert p == pytest.approx(0.46316491943359384, abs=2e-4)

    exact_p, exact = one_sided_msprt_effect(d, v, rho2, n, ALPHA, Alternative.GREATER)
    assert exact_p < p and exact.low > greater.low


def test_effect_mirrors_for_less_and_agrees_with_its_p_value() -> None:
    v, rho2, n = 0.01, one_sided_rho2(ALPHA), 4000
    for d in (-0.5, -0.2, -0.05, 0.0, 0.05, 0.2, 0.5):
        p, greater = one_sided_msprt_effect(d, v, rho2, n, ALPHA, Alternative.GREATER)
        q, less = one_sided_msprt_effect(-d, v, rho2, n, ALPHA, Alternative.LESS)
        assert p == q
        assert less == Interval(-math.inf, -greater.low)
        assert greater.high == math.inf
        assert (p < ALPHA) == (not greater.contains(0.0))
    with pytest.raises(ValueError):
        one_sided_msprt_effect(0.1, v, rho2, n, ALPHA, Alternative.TWO_SIDED)


def test_nonsense_is_an_error() -> None:
    with pytest.raises(ValueError):
        one_sided_rho2(0.5)
    with pytest.raises(ValueError):
        one_sided_log_likelihood_ratio(0.1, 0.0, 1.0)
    with pytest.raises(ValueError):
        one_sided_half_width(1.0, -1.0, 0.05)
    with pytest.raises(ValueError):
        one_sided_half_width(1.0, 1.0, 1.0)


PATHS = 2000
LOOKS = 50
PER_LOOK = 100  # entities per arm arriving between two looks


def arm(rng: np.random.Generator, mean: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(n, mean, variance) at every look of normal(mean, 1) data, drawn as per-look sufficient
    statistics (batch mean and sum of squares are independent for normal data)."""
    shape = (PATHS, LOOKS)
    batch_mean = rng.normal(mean, 1.0 / math.sqrt(PER_LOOK), shape)
    batch_ss = rng.chisquare(PER_LOOK - 1, shape)
    n = PER_LOOK * np.arange(1, LOOKS + 1, dtype=np.float64)
    total = (PER_LOOK * batch_mean).cumsum(axis=1)
    squares = (batch_ss + PER_LOOK * batch_mean * batch_mean).cumsum(axis=1)
    running = total / n
    return n, running, (squares - total * running) / (n - 1.0)


def looks(seed: int, effect: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N = n_c + n_t, d, V) at every look of every path."""
    rng = np.random.default_rng(seed)
    n, mean_c, var_c = arm(rng, 0.0)
    _, mean_t, var_t = arm(rng, effect)
    return 2.0 * n, mean_t - mean_c, var_t / n + var_c / n


def one_sided_log_lr(d: np.ndarray, v: np.ndarray, tau2: np.ndarray) -> np.ndarray:
    """Vectorised log Lambda, written out directly from the closed form."""
    x = d * np.sqrt(tau2 / (v * (v + tau2)))
    log_phi = special.log_ndtr(x)
    return np.asarray(np.log(2.0) + 0.5 * np.log(v / (v + tau2)) + x * x / 2.0 + log_phi)


def test_vectorised_twin_equals_the_scalar_function() -> None:
    big_n, d, v = looks(5, 0.05)
    tau2 = one_sided_rho2(ALPHA) * big_n * v
    batch = one_sided_log_lr(d, v, tau2)
    for i, k in [(0, 0), (7, 12), (99, 49), (1500, 3)]:
        scalar = one_sided_log_likelihood_ratio(float(d[i, k]), float(v[i, k]), float(tau2[i, k]))
        assert batch[i, k] == pytest.approx(scalar, rel=1e-9, abs=1e-12)


def rejected(log_lr: np.ndarray) -> float:
    """Share of paths whose running-minimum p-value reaches alpha at some look."""
    return float(np.mean((log_lr >= math.log(1.0 / ALPHA)).any(axis=1)))


@pytest.mark.parametrize("alternative", [Alternative.GREATER, Alternative.LESS])
def test_peeking_keeps_the_type_one_error(alternative: Alternative) -> None:
    sign = 1.0 if alternative is Alternative.GREATER else -1.0
    rho2 = one_sided_rho2(ALPHA)
    rates = []
    # At the null's edge, and inside it: an effect of 0.05 sd the wrong way.
    for effect in (0.0, -0.05 * sign):
        big_n, d, v = looks(20261 if sign > 0 else 20262, effect)
        rates.append(rejected(one_sided_log_lr(sign * d, v, rho2 * big_n * v)))
    print(f"\none-sided {alternative} mSPRT, {PATHS} x {LOOKS} looks: type-I {rates}")
    # Binomial sd at 0.05 over 2000 paths is 0.0049; the bound allows two of them.
    assert rates[0] <= ALPHA + 0.01
    assert rates[1] <= rates[0]


def test_one_sided_rejects_more_often_than_two_sided_under_a_positive_effect() -> None:
    big_n, d, v = looks(4242, 0.04)
    one = rejected(one_sided_log_lr(d, v, one_sided_rho2(ALPHA) * big_n * v))
    tau2 = mixing_rho2(ALPHA) * big_n * v
    two = rejected(0.5 * np.log(v / (v + tau2)) + tau2 * d * d / (2.0 * v * (v + tau2)))
    print(f"\neffect 0.04 sd, {PATHS} x {LOOKS} looks: one-sided {one:.4f}, two-sided {two:.4f}")
    # Same paths for both; a gap of 0.03 is over four binomial sds of a difference.
    assert one > two + 0.03


@pytest.mark.parametrize("alternative", [Alternative.GREATER, Alternative.LESS])
def test_confidence_sequence_covers(alternative: Alternative) -> None:
    effect = 0.1
    big_n, d, v = looks(777 if alternative is Alternative.GREATER else 778, effect)
    rho2 = one_sided_rho2(ALPHA)
    # u / sqrt(V) depends on tau^2 / V = rho^2 N only: one root per look, shared by all paths.
    per_look = np.array([one_sided_half_width(1.0, rho2 * m, ALPHA) for m in big_n])
    u = per_look * np.sqrt(v)
    assert u[3, 7] == pytest.approx(
        one_sided_half_width(float(v[3, 7]), rho2 * big_n[7] * float(v[3, 7]), ALPHA),
        rel=1e-12,
    )
    if alternative is Alternative.GREATER:
        missed = np.maximum.accumulate(d - u, axis=1) > effect
    else:
        missed = np.minimum.accumulate(d + u, axis=1) < effect
    rate = float(np.mean(missed.any(axis=1)))
    print(f"\none-sided {alternative} sequence, {PATHS} x {LOOKS} looks: miss rate {rate:.4f}")
    assert rate <= ALPHA + 0.01
