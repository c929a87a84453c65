"""Ratio metrics against raw per-entity data: the hand formula, a seeded bootstrap, gbstats'
formulas written out, and simulated experiments.

Tolerances: 1e-9 relative against formulas evaluated by numpy on the same raw data (both are
rounded once or a few times); 5% relative against a bootstrap of 4000 resamples at n = 2000
(the Monte Carlo error of a bootstrap variance is about sqrt(2 / B) = 2.2%, and the delta
method's own error is O(1/n)); simulations state theirs where they check.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from shared.domain.stats.ratio import D_PRE, M_PRE, D, M, delta_variance, ratio, ratio_cuped
from shared.domain.stats.vector_sums import CoMatrix, VectorSums
from shared.domain.stats.vocabulary import Reason

FloatArray = np.ndarray


def exact(raw: FloatArray) -> CoMatrix:
    """The processor's path: exact sums of each entity's vector, read once."""
    total = VectorSums.zero(raw.shape[1])
    for row in raw:
        total = total + VectorSums.point([float(v) for v in row])
    return total.comatrix()


def fast(raw: FloatArray) -> CoMatrix:
    """The same read-out by numpy, for simulations of many experiments (not exact)."""
    means = raw.mean(axis=0)
    centred = raw - means
    m2 = centred.T @ centred
    return CoMatrix(
        raw.shape[0],
        tuple(float(v) for v in means),
        tuple(tuple(float(v) for v in row) for row in m2),
    )


def entities(rng: np.random.Generator, n: int, lift: float = 0.0) -> FloatArray:
    """(m, d, m_pre, d_pre) per entity: d events, each worth about the entity's own level
    mu_i, so the per-event average before and after exposure are correlated through mu_i."""
    activity = rng.gamma(2.0, 1.5, n)
    level = rng.normal(10.0, 3.0, n)
    d = rng.poisson(activity)
    d_pre = rng.poisson(activity)
    m = d * (level + lift) + np.sqrt(d) * rng.normal(0.0, 2.0, n)
    m_pre = d_pre * level + np.sqrt(d_pre) * rng.normal(0.0, 2.0, n)
    return np.column_stack([m, d, m_pre, d_pre]).astype(np.float64)


def test_the_delta_method_variance_is_the_hand_formula_on_raw_data() -> None:
    raw = entities(np.random.default_rng(11), 500)
    m, d = raw[:, M], raw[:, D]
    cov = np.cov(m, d, ddof=1)
    mean_m, mean_d = m.mean(), d.mean()
    want = (
        cov[0, 0] / mean_d**2
        - 2 * cov[0, 1] * mean_m / mean_d**3
        + mean_m**2 * cov[1, 1] / mean_d**4
    )
    got = ratio(exact(raw))
    assert got.reason is None
    assert got.moments.n == 500
    assert got.moments.mean == pytest.approx(m.sum() / d.sum(), rel=1e-12)
    assert got.moments.variance == pytest.approx(want, rel=1e-9)
    assert delta_variance(mean_m, mean_d, cov[0, 0], cov[1, 1], cov[0, 1]) == pytest.approx(
        want, rel=1e-12
    )
    # The pre-exposure ratio is the same statistic on the other two variables.
    pre = ratio(exact(raw), M_PRE, D_PRE)
    assert pre.moments.mean == pytest.approx(raw[:, M_PRE].sum() / raw[:, D_PRE].sum(), rel=1e-12)


def test_the_delta_method_variance_agrees_with_a_seeded_bootstrap() -> None:
    rng = np.random.default_rng(2018)
    n, resamples = 2000, 4000
    raw = entities(rng, n)
    got = ratio(exact(raw)).moments
    picks = rng.integers(0, n, size=(resamples, n))
    boot = raw[picks, M].sum(axis=1) / raw[picks, D].sum(axis=1)
    assert got.variance / n == pytest.approx(float(boot.var(ddof=1)), rel=0.05)


def test_a_zero_denominator_is_a_reason_not_an_error() -> None:
    raw = np.zeros((5, 4))
    got = ratio(exact(raw))
    assert got.reason is Reason.ZERO_DENOMINATOR
    assert got.moments.mean == 0.0 and got.moments.variance == 0.0
    assert ratio(VectorSums.zero(4).comatrix()).reason is Reason.NOT_ENOUGH_DATA
    live = exact(entities(np.random.default_rng(1), 50))
    assert ratio_cuped([exact(raw), live]).reason is Reason.ZERO_DENOMINATOR
    # No pre-exposure events in an arm: the covariate ratio is undefined, the raw ratio stands.
    no_pre = entities(np.random.default_rng(2), 50)
    no_pre[:, D_PRE] = 0.0
    no_pre[:, M_PRE] = 0.0
    result = ratio_cuped([exact(no_pre), live])
    assert result.reason is Reason.ZERO_COVARIATE_VARIANCE
    assert result.adjusted == (ratio(exact(no_pre)).moments, ratio(live).moments)


def gbstats_ratio_cuped(
    a: FloatArray, b: FloatArray
) -> tuple[float, tuple[float, float], tuple[float, float]]:
    """gbstats' RegressionAdjustedRatioStatistic and compute_theta_regression_adjusted_ratio
    (growthbook/growthbook packages/stats/gbstats/models/statistics.py), written out on raw
    arrays: (theta, the two arms' per-entity variances, the two arms' adjusted means)."""

    def lam(raw: FloatArray) -> FloatArray:
        return np.cov(raw, rowvar=False, ddof=1)

    def nabla(raw: FloatArray, theta: float) -> FloatArray:
        m, d, m_pre, d_pre = raw.mean(axis=0)
        return np.array([1 / d, -m / d**2, -theta / d_pre, theta * m_pre / d_pre**2])

    def var_pre(raw: FloatArray) -> float:
        g = nabla(raw, 1.0)[2:4]
        return float(g @ lam(raw)[2:4, 2:4] @ g)

    def covariance(raw: FloatArray) -> float:
        g = nabla(raw, 1.0)
        return float(g[2:4] @ lam(raw)[2:4, 0:2] @ g[0:2])

    theta = -(covariance(a) + covariance(b)) / (var_pre(a) + var_pre(b))

    def variance(raw: FloatArray) -> float:
        g = nabla(raw, theta)
        return float(g @ lam(raw) @ g)

    def mean(raw: FloatArray) -> float:
        m, d, m_pre, d_pre = raw.mean(axis=0)
        return float(m / d - theta * m_pre / d_pre)

    return theta, (variance(a), variance(b)), (mean(a), mean(b))


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_cuped_for_ratios_equals_gbstats_formulas_on_raw_data(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = entities(rng, 300), entities(rng, 340, lift=0.5)
    theta, variances, means = gbstats_ratio_cuped(a, b)
    result = ratio_cuped([exact(a), exact(b)])
    assert result.reason is None
    assert result.theta == pytest.approx(theta, rel=1e-9)
    for got, want in zip(result.adjusted, variances, strict=True):
        assert got.variance == pytest.approx(want, rel=1e-9)
    # gbstats does not centre the adjustment; the difference of the means does not see it.
    got_difference = result.adjusted[1].mean - result.adjusted[0].mean
    assert got_difference == pytest.approx(means[1] - means[0], rel=1e-9)
    # Centred on the pooled pre-exposure ratio: total m_pre over total d_pre.
    pooled = np.vstack([a, b])
    assert result.centre == pytest.approx(pooled[:, M_PRE].sum() / pooled[:, D_PRE].sum())
    raw_variances = [ratio(exact(x)).moments.variance for x in (a, b)]
    assert result.variance_reduction == pytest.approx(
        1 - sum(variances) / sum(raw_variances), rel=1e-9
    )


def test_cuped_for_ratios_is_unbiased_and_reduces_the_variance_it_predicts() -> None:
    """1000 simulated experiments, a true lift of 0.5 in the per-event average.

    Checked: the mean adjusted difference is within 4 Monte Carlo standard errors of the truth
    (the delta method's bias is O(1/n)); its variance across experiments is within 12% of the
    mean predicted Var_t/n_t + Var_c/n_c (the sampling error of a variance over 1000 runs is
    4.5%) and below 60% of the unadjusted difference's; the 95% interval covers the truth in
    93.5%-96.5% of runs (binomial error 0.7%).
    """
    rng = np.random.default_rng(1983)
    runs, n, lift = 1000, 400, 0.5
    raw_d, adj_d, predicted, covered = [], [], [], 0
    for _ in range(runs):
        c, t = fast(entities(rng, n)), fast(entities(rng, n, lift))
        result = ratio_cuped([c, t])
        assert result.reason is None
        ac, at = result.adjusted
        rc, rt = ratio(c).moments, ratio(t).moments
        raw_d.append(rt.mean - rc.mean)
        difference = at.mean - ac.mean
        v = at.variance / at.n + ac.variance / ac.n
        adj_d.append(difference)
        predicted.append(v)
        covered += abs(difference - lift) <= 1.959963984540054 * math.sqrt(v)
    adj = np.array(adj_d)
    assert abs(adj.mean() - lift) < 4 * adj.std(ddof=1) / math.sqrt(runs)
    assert adj.var(ddof=1) == pytest.approx(np.mean(predicted), rel=0.12)
    # The pre-exposure ratio explains about half the variance of the difference here.
    assert adj.var(ddof=1) < 0.6 * np.var(raw_d, ddof=1)
    assert 0.935 <= covered / runs <= 0.965


def test_the_adjusted_variance_agrees_with_a_bootstrap_at_the_pooled_theta() -> None:
    """Var(R_post - theta R_pre) at gbstats' pooled theta, by bootstrap of one arm's entities
    (4000 resamples, n = 2000, 5%)."""
    rng = np.random.default_rng(7)
    n, resamples = 2000, 4000
    a, b = entities(rng, n), entities(rng, n, lift=0.5)
    result = ratio_cuped([exact(a), exact(b)])
    picks = rng.integers(0, n, size=(resamples, n))
    post = a[picks, M].sum(axis=1) / a[picks, D].sum(axis=1)
    pre = a[picks, M_PRE].sum(axis=1) / a[picks, D_PRE].sum(axis=1)
    boot = post - result.theta * pre
    assert result.adjusted[0].variance / n == pytest.approx(float(boot.var(ddof=1)), rel=0.05)


def test_a_constant_value_per_event_has_no_variance_and_no_error() -> None:
    """m = 3 d for every entity: R is 3 in every resample, and the linearised values cancel to
    zero up to rounding, which must not read as a negative variance."""
    rng = np.random.default_rng(9)
    d = rng.poisson(4.0, 300).astype(float) + 0.1
    d_pre = rng.poisson(4.0, 300).astype(float) + 0.1
    raw = np.column_stack([3.0 * d, d, 3.0 * d_pre, d_pre])
    got = ratio(exact(raw))
    assert got.reason is None
    assert got.moments.mean == pytest.approx(3.0, rel=1e-15)
    assert got.moments.variance == pytest.approx(0.0, abs=1e-12)
    other = entities(np.random.default_rng(10), 300)
    result = ratio_cuped([exact(raw), exact(other)])
    assert result.adjusted[0].variance == pytest.approx(0.0, abs=1e-12)
