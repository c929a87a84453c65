"""Binary metrics (UNIQUE_CONVERSIONS, FUNNEL, RETENTION) tested as proportions.

Each entity's number is 0 or 1, so an arm is n entities of which k converted, p = k / n, and
the per-entity variance is Bernoulli's p (1 - p) (= M2 / n of the 0/1 values, the ddof-0
moment), not the sample variance n p (1 - p) / (n - 1). ``bernoulli`` gives an arm's
``Moments`` in that convention, so ``msprt`` and ``bayes`` read it unchanged (gbstats
``ProportionStatistic``, growthbook/growthbook packages/stats/gbstats/models/statistics.py,
feeds its tests the same way).

Fixed horizon: the unpooled Wald z-test of the difference (Agresti, "Categorical Data
Analysis", 3rd ed., 2013, the Wald interval for a difference of proportions):

    D = p_t - p_c,   V_D = p_t (1 - p_t) / n_t + p_c (1 - p_c) / n_c,   z = D / sqrt(V_D),

with normal p-values and the interval D -/+ z_{1-alpha/2} sqrt(V_D) (statsmodels'
``test_proportions_2indep`` and ``confint_proportions_2indep`` with method "wald",
compare "diff"). The relative lift L = p_t / p_c - 1 is its own hypothesis on its own scale:
the delta method with the Bernoulli variances (Deng, Knoblich and Lu, KDD 2018),
V_L = p_t (1 - p_t) / (n_t p_c^2) + p_t^2 p_c (1 - p_c) / (n_c p_c^4), z = L / sqrt(V_L),
interval L -/+ z_{1-alpha/2} sqrt(V_L).

CUPED on binary metrics: as gbstats regression-adjusts proportions (its
``RegressionAdjustedStatistic`` takes a ``ProportionStatistic`` as the post-exposure
statistic), a binary metric is adjusted exactly as a scalar one, Y - theta (X - mean X) with
theta pooled within arms (``cuped.py``), X the entity's pre-exposure value of the same metric.
The adjusted values are no longer 0/1, so the variance kept is their ddof-0 moment M2_adj / n,
which is p (1 - p) when theta = 0: with CUPED off, or a covariate that does not vary, the test
is exactly the Wald test above. The z-test then reads the adjusted ``Moments`` like any other:
a large-sample normal test of the adjusted difference, Deng et al. 2013's setting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats  # type: ignore[import-untyped]

from shared.domain.stats.comoments import CoMoments
from shared.domain.stats.cuped import cuped
from shared.domain.stats.moments import Moments
from shared.domain.stats.vocabulary import UNBOUNDED, Alternative, Effect, Interval, Reason
from shared.domain.stats.welch import check_confidence, lift_of, relative_variance


@dataclass(frozen=True, slots=True)
class ProportionsCuped:
    """Each arm's CUPED-adjusted moments in the Bernoulli (ddof 0) convention; theta None when
    CUPED did not apply (then the moments are ``bernoulli``'s)."""

    control: Moments
    treatment: Moments
    theta: float | None
    variance_reduction: float


@dataclass(frozen=True, slots=True)
class ZTestResult:
    """The z-test of ``treatment - control`` on both scales, each its own hypothesis.

    ``absolute`` tests p_t - p_c = 0, ``relative`` tests L = 0, each with its own variance;
    ``z`` and ``p_value`` are the absolute scale's. With ``reason`` set, p is 1 and the
    intervals are unbounded.
    """

    alternative: Alternative
    confidence: float
    absolute: Effect
    relative: Effect
    z: float
    p_value: float
    reason: Reason | None = None


def _ddof0(n: int, mean: float, m2: float) -> Moments:
    """Moments whose ``variance`` (M2 over n - 1) is the ddof-0 variance M2 / n."""
    return Moments(n, mean, m2 * (n - 1) / n if n > 0 else 0.0)


def bernoulli(arm: CoMoments) -> Moments:
    """An arm of 0/1 outcomes (``arm.mean_y`` = k / n) with variance p (1 - p)."""
    p = arm.mean_y
    return Moments(arm.n, p, p * (1.0 - p) * (arm.n - 1) if arm.n > 1 else 0.0)


def proportions_cuped(control: CoMoments, treatment: CoMoments) -> ProportionsCuped:
    """CUPED for a binary metric (module docstring): ``cuped.py``'s adjustment, ddof 0."""
    result = cuped([control, treatment])
    if result.reason is not None:
        return ProportionsCuped(bernoulli(control), bernoulli(treatment), None, 0.0)
    c, t = result.adjusted
    return ProportionsCuped(
        _ddof0(c.n, c.mean, c.m2),
        _ddof0(t.n, t.mean, t.m2),
        result.theta,
        result.variance_reduction,
    )


def _p_value(z: float, alternative: Alternative) -> float:
    if alternative is Alternative.GREATER:
        return float(stats.norm.sf(z))
    if alternative is Alternative.LESS:
        return float(stats.norm.cdf(z))
    return min(1.0, 2.0 * float(stats.norm.sf(abs(z))))


def _effect(estimate: float, variance: float, critical: float, alternative: Alternative) -> Effect:
    se = math.sqrt(variance)
    half = critical * se
    low = -math.inf if alternative is Alternative.LESS else estimate - half
    high = math.inf if alternative is Alternative.GREATER else estimate + half
    return Effect(estimate, se, Interval(low, high), _p_value(estimate / se, alternative))


def z_test(
    control: Moments,
    treatment: Moments,
    *,
    confidence: float = 0.95,
    alternative: Alternative = Alternative.TWO_SIDED,
) -> ZTestResult:
    """The unpooled Wald z-test of p_t - p_c and of the lift (module docstring), on
    ``bernoulli`` (or CUPED-adjusted) moments. One-sided: p = P(Z > z) / P(Z < z) and the
    interval bounded on one side at z_{1-alpha}, as ``welch`` does."""
    alpha = check_confidence(confidence)

    def thin(reason: Reason) -> ZTestResult:
        both = control.n > 0 and treatment.n > 0
        difference = treatment.mean - control.mean if both else 0.0
        lift = lift_of(control, treatment) if both and control.mean != 0.0 else 0.0
        return ZTestResult(
            alternative,
            confidence,
            Effect(difference, 0.0, UNBOUNDED, 1.0, reason),
            Effect(lift, 0.0, UNBOUNDED, 1.0, reason),
            0.0,
            1.0,
            reason,
        )

    if control.n < 2 or treatment.n < 2:
        return thin(Reason.NOT_ENOUGH_DATA)
    v = treatment.variance / treatment.n + control.variance / control.n
    if not v > 0.0:
        return thin(Reason.ZERO_VARIANCE)
    tail = alpha / 2.0 if alternative is Alternative.TWO_SIDED else alpha
    critical = float(stats.norm.isf(tail))
    difference = treatment.mean - control.mean
    absolute = _effect(difference, v, critical, alternative)

    if control.mean == 0.0:
        relative = Effect(0.0, 0.0, UNBOUNDED, 1.0, Reason.ZERO_CONTROL_MEAN)
    else:
        lift = lift_of(control, treatment)
        lift_v = relative_variance(control, treatment)
        relative = (
            _effect(lift, lift_v, critical, alternative)
            if lift_v > 0.0
            # No conversions in the treatment arm leave the delta method without a variance.
            else Effect(lift, 0.0, UNBOUNDED, 1.0, Reason.ZERO_VARIANCE)
        )
    return ZTestResult(
        alternative,
        confidence,
        absolute,
        relative,
        difference / math.sqrt(v),
        absolute.p_value,
    )
