"""CUPED: variance reduction with a pre-exposure covariate, from ``CoMoments`` alone.

Deng, Xu, Kohavi and Walker, "Improving the sensitivity of online controlled experiments by
utilizing pre-experiment data", WSDM 2013, Section 3.2 (control variates): with
theta = cov(X, Y) / var(X), Y_cv = Y - theta (X - E[X]) keeps the mean difference unbiased and
has Var(Y_cv) = Var(Y) (1 - rho^2), rho = corr(X, Y). The paper uses one theta for all arms,
so that the adjustment cancels in expectation. This module pools it within arms,
theta = sum_i C_xy,i / sum_i M2_x,i, so that a true treatment effect on Y cannot leak into
cov(X, Y) through the arms' different means. That choice makes the adjusted difference in
means identical to the treatment coefficient of the OLS regression Y ~ 1 + T + (X - mean X)
(Lin, "Agnostic notes on regression adjustments to experimental data", Annals of Applied
Statistics 2013, without the interaction term).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from shared.domain.stats.comoments import CoMoments
from shared.domain.stats.moments import Moments
from shared.domain.stats.sums import InconsistentSums
from shared.domain.stats.vocabulary import Reason


@dataclass(frozen=True, slots=True)
class CupedResult:
    """theta, the pooled covariate mean and the adjusted metric ``Moments`` of each arm.

    ``variance_reduction`` is 1 - (pooled within-arm M2 of Y_adj) / (that of Y), the share of
    metric variance the covariate explains; it estimates rho^2. With ``reason`` set, theta is 0
    and the adjusted moments are the unadjusted ones.
    """

    theta: float
    mean_x: float
    adjusted: tuple[Moments, ...]
    variance_reduction: float
    reason: Reason | None = None


def pooled_theta(arms: Sequence[CoMoments]) -> float:
    """theta = sum_i C_xy,i / sum_i M2_x,i (Deng et al. 2013, Section 3.2, pooled within arms).

    0 when the covariate does not vary within any arm, which leaves Y unadjusted.
    """
    m2_x = sum(arm.m2_x for arm in arms)
    if not m2_x > 0.0:
        return 0.0
    return sum(arm.c_xy for arm in arms) / m2_x


# M2_x, M2_y and C_xy read from exact cells are correctly rounded and move
# M2_y - C_xy^2 / M2_x by a few ulps of M2_y; co-moments built by Welford's update carry
# about n ulps. A shortfall beyond this share of M2_y is no rounding.
_ROUNDING = 1e-9


def adjust(arm: CoMoments, theta: float, mean_x: float) -> Moments:
    """Moments of Y_adj = Y - theta (X - mean_x) over the arm, exactly from its co-moments.

    mean = mean_y - theta (mean_x,arm - mean_x). M2 = sum ((y - mean_y) - theta (x - mean_x))^2,
    written as the arm's own regression residual plus the cost of the pooled slope:

        M2 = (M2_y - C_xy^2 / M2_x) + M2_x (theta - C_xy / M2_x)^2,

    two terms that are non-negative (the first by Cauchy-Schwarz), so no rounding of a
    difference can turn it negative. A residual below zero by more than rounding means a
    correlation beyond +-1, which exact cells cannot produce: ``InconsistentSums``.
    """
    mean = arm.mean_y - theta * (arm.mean_x - mean_x)
    if not arm.m2_x > 0.0:
        return Moments(arm.n, mean, arm.m2_y)
    slope = arm.c_xy / arm.m2_x
    residual = arm.m2_y - arm.c_xy * slope
    if residual < 0.0:
        if -residual > _ROUNDING * arm.m2_y:
            raise InconsistentSums(
                f"a covariate correlation beyond +-1 (M2_y {arm.m2_y!r}, C_xy {arm.c_xy!r},"
                f" M2_x {arm.m2_x!r})"
            )
        residual = 0.0  # y exactly linear in x within the arm, up to the inputs' rounding
    return Moments(arm.n, mean, residual + arm.m2_x * (theta - slope) ** 2)


def cuped(arms: Sequence[CoMoments]) -> CupedResult:
    """CUPED adjustment (Deng et al., WSDM 2013) of the arms being compared, e.g. (control, t).

    The adjusted moments feed ``welch``, ``msprt`` and ``bayes`` unchanged. Centring on the
    pooled mean of X keeps each arm's adjusted mean near its raw mean, so relative effects
    stay interpretable; the difference of adjusted means does not depend on the centre.
    """
    n = sum(arm.n for arm in arms)
    mean_x = sum(arm.n * arm.mean_x for arm in arms) / n if n > 0 else 0.0
    m2_x = sum(arm.m2_x for arm in arms)
    m2_y = sum(arm.m2_y for arm in arms)
    if n < 2 or not m2_x > 0.0:
        reason = Reason.NOT_ENOUGH_DATA if n < 2 else Reason.ZERO_COVARIATE_VARIANCE
        return CupedResult(0.0, mean_x, tuple(arm.y for arm in arms), 0.0, reason)
    theta = pooled_theta(arms)
    adjusted = tuple(adjust(arm, theta, mean_x) for arm in arms)
    reduction = 1.0 - sum(m.m2 for m in adjusted) / m2_y if m2_y > 0.0 else 0.0
    return CupedResult(theta, mean_x, adjusted, reduction)
