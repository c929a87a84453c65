"""Ratio metrics: an arm's sum of m over its sum of d, by the delta method, with CUPED.

An AVERAGE metric is the sum of an event's value over the number of events; a FORMULA RATIO
is one metric's total over another's. Either way each entity i brings (m_i, d_i), and for
CUPED its pre-exposure (m_pre_i, d_pre_i); the processor keeps exact ``VectorSums`` of
(m, d, m_pre, d_pre), in that index order, and this module reads their ``CoMatrix``.

The estimate of an arm is R = mean_m / mean_d. The entity, not the event, is the unit of
randomisation, so R's variance comes from the entities' (m, d) by the delta method (Deng,
Knoblich and Lu, "Applying the delta method in metric analytics: a practical guide with novel
ideas", KDD 2018, Section 3; gbstats ``RatioStatistic`` and ``utils.variance_of_ratios``,
growthbook/growthbook packages/stats/gbstats/models/statistics.py):

    Var(R_hat) = sigma^2 / n,   sigma^2 = var_m / d^2 - 2 cov_md m / d^3 + m^2 var_d / d^4,

with m, d the arm's means and var, cov the sample (ddof 1) moments: sigma^2 is the variance of
the linearised entity value (m_i - R d_i) / d. The arm is handed to the tests as ``Moments``
(n, R, sigma^2 (n - 1)), so that ``variance / n`` is Var(R_hat) and ``welch``, ``msprt`` and
``bayes`` run unchanged, as gbstats feeds a ``RatioStatistic`` into its tests.

CUPED for ratios (gbstats ``RegressionAdjustedRatioStatistic`` and
``compute_theta_regression_adjusted_ratio``, same file): the adjusted estimate is
R_post - theta (R_pre - R_pre_pooled), whose per-entity variance is the quadratic form
nabla' Lambda nabla of the 4x4 covariance Lambda of (m, d, m_pre, d_pre) with
nabla = (1/d, -m/d^2, -theta/d_pre, theta m_pre/d_pre^2): the delta method on the four means
jointly. Writing V_post, V_pre for the linearised variances of R_post and R_pre and C for
their covariance, that form is V_post - 2 theta C + theta^2 V_pre, and theta is pooled as
gbstats pools it, theta = sum_arms C / sum_arms V_pre (the unweighted sum over the two arms
compared), the control-variate slope of Deng, Xu, Kohavi and Walker, WSDM 2013, Section 3.2,
on the linearised values. As in ``cuped.py`` the adjustment is centred on the pooled
pre-exposure ratio (total m_pre over total d_pre of the arms compared), so the adjusted control
estimate stays near its raw one and the relative lift stays readable; the difference of the
adjusted estimates does not depend on the centre and equals gbstats'.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.domain.stats.moments import Moments
from shared.domain.stats.sums import InconsistentSums
from shared.domain.stats.vector_sums import CoMatrix
from shared.domain.stats.vocabulary import Reason

# The processor's index order of the four variables in a ratio metric's VectorSums.
M, D, M_PRE, D_PRE = 0, 1, 2, 3
DIMENSION = 4

# The linearised variances are quadratic forms of correctly rounded covariances; rounding
# moves a form by a few ulps of its terms. A shortfall below zero beyond this share of the
# terms is no rounding: the covariance matrix was not positive semi-definite.
_ROUNDING = 1e-9


@dataclass(frozen=True, slots=True)
class RatioStatistic:
    """One arm's R = mean_m / mean_d as the tests read a mean: ``moments.mean`` is R and
    ``moments.variance`` the per-entity delta-method variance, so ``variance / n`` is
    Var(R_hat). With ``reason`` set (mean_d is zero), R and its variance are 0."""

    moments: Moments
    reason: Reason | None = None


@dataclass(frozen=True, slots=True)
class RatioCupedResult:
    """theta, the centre (pooled pre-exposure ratio) and each arm's adjusted ``Moments``.

    ``variance_reduction`` is 1 - sum V_adj / sum V_post over the arms, the share of the
    linearised variance the pre-exposure ratio explains. With ``reason`` set, theta is 0 and
    the adjusted moments are the raw ratio's.
    """

    theta: float
    centre: float
    adjusted: tuple[Moments, ...]
    variance_reduction: float
    reason: Reason | None = None


def delta_variance(mean_m: float, mean_d: float, var_m: float, var_d: float, cov: float) -> float:
    """sigma^2 = var_m/d^2 - 2 cov m/d^3 + m^2 var_d/d^4 (Deng et al., KDD 2018, eq. for the
    ratio of two means; gbstats ``variance_of_ratios``). mean_d must be non-zero."""
    r = mean_m / mean_d
    return (var_m - 2.0 * r * cov + r * r * var_d) / (mean_d * mean_d)


def _gradient(arm: CoMatrix, numerator: int, denominator: int) -> tuple[float, ...]:
    """d R / d (means), R = mean[numerator] / mean[denominator], zero elsewhere."""
    d = arm.means[denominator]
    g = [0.0] * arm.dimension
    g[numerator] = 1.0 / d
    g[denominator] = -arm.means[numerator] / (d * d)
    return tuple(g)


def _form(arm: CoMatrix, g: Sequence[float], h: Sequence[float]) -> float:
    """g' S h with S the arm's sample covariance matrix (ddof 1)."""
    if arm.n < 2:
        return 0.0
    total = 0.0
    for i, gi in enumerate(g):
        if gi == 0.0:
            continue
        row = arm.m2[i]
        total += gi * sum(hj * row[j] for j, hj in enumerate(h) if hj != 0.0)
    return total / (arm.n - 1)


def _variance(arm: CoMatrix, g: Sequence[float]) -> float:
    """g' S g, a variance: non-negative unless S is not positive semi-definite.

    Its rounding is relative to the terms summed, not to the result, which cancels to zero when
    the linearised value is constant within the arm (every event worth the same, say).
    """
    variance = _form(arm, g, g)
    if variance >= 0.0:
        return variance
    terms = sum(
        abs(gi * gj * arm.covariance(i, j))
        for i, gi in enumerate(g)
        if gi != 0.0
        for j, gj in enumerate(g)
        if gj != 0.0
    )
    if -variance > _ROUNDING * terms:
        raise InconsistentSums(f"a negative linearised variance, {variance!r}")
    return 0.0


def ratio(arm: CoMatrix, numerator: int = M, denominator: int = D) -> RatioStatistic:
    """R = mean_m / mean_d with its per-entity delta-method variance (module docstring)."""
    if arm.n > 0 and arm.means[denominator] == 0.0:
        return RatioStatistic(Moments(arm.n, 0.0, 0.0), Reason.ZERO_DENOMINATOR)
    if arm.n == 0:
        return RatioStatistic(Moments(), Reason.NOT_ENOUGH_DATA)
    r = arm.means[numerator] / arm.means[denominator]
    v = _variance(arm, _gradient(arm, numerator, denominator))
    return RatioStatistic(Moments(arm.n, r, v * (arm.n - 1)))


def ratio_cuped(arms: Sequence[CoMatrix]) -> RatioCupedResult:
    """CUPED for ratio metrics (gbstats ``RegressionAdjustedRatioStatistic``) of the arms
    compared, e.g. (control, treatment), each a ``CoMatrix`` of (m, d, m_pre, d_pre)."""
    raw = [ratio(arm) for arm in arms]
    raw_moments = tuple(r.moments for r in raw)

    def unadjusted(reason: Reason) -> RatioCupedResult:
        return RatioCupedResult(0.0, 0.0, raw_moments, 0.0, reason)

    for r in raw:
        if r.reason is Reason.ZERO_DENOMINATOR:
            return unadjusted(Reason.ZERO_DENOMINATOR)
    if sum(arm.n for arm in arms) < 2 or any(arm.n < 1 for arm in arms):
        return unadjusted(Reason.NOT_ENOUGH_DATA)
    # A pre-exposure ratio that is undefined in an arm carries no information to adjust with.
    if any(arm.means[D_PRE] == 0.0 for arm in arms):
        return unadjusted(Reason.ZERO_COVARIATE_VARIANCE)

    posts = [_gradient(arm, M, D) for arm in arms]
    pres = [_gradient(arm, M_PRE, D_PRE) for arm in arms]
    v_post = [_variance(arm, g) for arm, g in zip(arms, posts, strict=True)]
    v_pre = [_variance(arm, h) for arm, h in zip(arms, pres, strict=True)]
    c = [_form(arm, g, h) for arm, g, h in zip(arms, posts, pres, strict=True)]
    if not sum(v_pre) > 0.0:
        return unadjusted(Reason.ZERO_COVARIATE_VARIANCE)
    # gbstats compute_theta_regression_adjusted_ratio: the arms' sums, unweighted.
    theta = sum(c) / sum(v_pre)
    centre = sum(arm.n * arm.means[M_PRE] for arm in arms) / sum(
        arm.n * arm.means[D_PRE] for arm in arms
    )

    adjusted: list[Moments] = []
    for arm, post, g, h in zip(arms, raw_moments, posts, pres, strict=True):
        r_pre = arm.means[M_PRE] / arm.means[D_PRE]
        # gbstats' nabla: the post gradient minus theta times the pre gradient.
        v = _variance(arm, [a - theta * b for a, b in zip(g, h, strict=True)])
        adjusted.append(Moments(arm.n, post.mean - theta * (r_pre - centre), v * (arm.n - 1)))
    total_post = sum(v_post)
    reduction = 1.0 - sum(m.variance for m in adjusted) / total_post if total_post > 0.0 else 0.0
    return RatioCupedResult(theta, centre, tuple(adjusted), reduction)
