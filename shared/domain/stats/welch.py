"""Welch's unequal-variance t-test of treatment against control, from two ``Moments``.

Welch, "The generalization of 'Student's' problem when several different population
variances are involved", Biometrika 34, 1947 (the statistic); Satterthwaite, "An
approximate distribution of estimates of variance components", Biometrics Bulletin 2,
1946 (its degrees of freedom). The relative effect's standard error is the delta
method for the percent change of two independent means (Deng, Knoblich and Lu, "Applying
the delta method in metric analytics: a practical guide with novel ideas", KDD 2018).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats  # type: ignore[import-untyped]

from shared.domain.stats.moments import Moments
from shared.domain.stats.vocabulary import (
    UNBOUNDED,
    Alternative,
    Effect,
    Interval,
    Reason,
)

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class WelchResult:
    """Welch's test of ``treatment - control``, on both scales.

    Each effect carries its own hypothesis: ``absolute`` tests mean_t - mean_c = 0 with
    Welch's t, ``relative`` tests lift = 0 with t = lift / se_lift (delta method) against the
    same degrees of freedom, as gbstats' TTest does, so each effect's p-value and interval
    agree about significance. ``p_value`` and ``t`` are the absolute scale's. With ``reason``
    set, p_value is 1 and the intervals are unbounded.
    """

    alternative: Alternative
    confidence: float
    absolute: Effect
    relative: Effect
    t: float
    dof: float
    p_value: float
    reason: Reason | None = None

    @property
    def significant(self) -> bool:
        return self.reason is None and self.p_value < 1.0 - self.confidence


def check_confidence(confidence: float) -> float:
    """Return alpha = 1 - confidence, refusing levels outside (0, 1)."""
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    return 1.0 - confidence


def welch_dof(control: Moments, treatment: Moments) -> float:
    """Welch-Satterthwaite degrees of freedom (Satterthwaite 1946; Welch 1947).

    nu = (s_t^2/n_t + s_c^2/n_c)^2 / ((s_t^2/n_t)^2/(n_t-1) + (s_c^2/n_c)^2/(n_c-1)).
    """
    a = treatment.variance / treatment.n
    b = control.variance / control.n
    return (a + b) ** 2 / (a * a / (treatment.n - 1) + b * b / (control.n - 1))


def lift_of(control: Moments, treatment: Moments) -> float:
    """The relative effect (mean_t - mean_c) / |mean_c|: mean_t / mean_c - 1 for a positive
    control mean, and for a negative one (profit, net revenue) still positive when the
    treatment is higher, as the absolute difference says. Its delta-method variance is
    ``relative_variance`` either way (the sign of mean_c only flips the estimate)."""
    return (treatment.mean - control.mean) / abs(control.mean)


def relative_variance(control: Moments, treatment: Moments) -> float:
    """Delta-method variance of the lift mean_t / mean_c - 1 (Deng et al., KDD 2018).

    First-order Taylor expansion of mu_t / mu_c around the true means, arms independent:
    Var = s_t^2 / (n_t mu_c^2) + mu_t^2 s_c^2 / (n_c mu_c^4).
    """
    mean_c2 = control.mean * control.mean
    return treatment.variance / (treatment.n * mean_c2) + (
        treatment.mean * treatment.mean * control.variance / (control.n * mean_c2 * mean_c2)
    )


def _interval(estimate: float, se: float, critical: float, alternative: Alternative) -> Interval:
    half = critical * se
    if alternative is Alternative.GREATER:
        return Interval(estimate - half, math.inf)
    if alternative is Alternative.LESS:
        return Interval(-math.inf, estimate + half)
    return Interval(estimate - half, estimate + half)


def _p_value(t: float, dof: float, alternative: Alternative) -> float:
    if alternative is Alternative.GREATER:
        return float(stats.t.sf(t, dof))
    if alternative is Alternative.LESS:
        return float(stats.t.cdf(t, dof))
    return min(1.0, 2.0 * float(stats.t.sf(abs(t), dof)))


def _not_computed(
    control: Moments,
    treatment: Moments,
    alternative: Alternative,
    confidence: float,
    reason: Reason,
) -> WelchResult:
    both = control.n > 0 and treatment.n > 0
    difference = treatment.mean - control.mean if both else 0.0
    lift = lift_of(control, treatment) if both and control.mean != 0.0 else 0.0
    return WelchResult(
        alternative=alternative,
        confidence=confidence,
        absolute=Effect(difference, 0.0, UNBOUNDED, 1.0, reason),
        relative=Effect(lift, 0.0, UNBOUNDED, 1.0, reason),
        t=0.0,
        dof=0.0,
        p_value=1.0,
        reason=reason,
    )


def welch(
    control: Moments,
    treatment: Moments,
    *,
    confidence: float = 0.95,
    alternative: Alternative = Alternative.TWO_SIDED,
) -> WelchResult:
    """Welch's t-test of mean_t - mean_c (Welch 1947), with intervals at ``confidence``.

    t = (mean_t - mean_c) / sqrt(s_t^2/n_t + s_c^2/n_c) against Student's t with the
    Welch-Satterthwaite dof. Two-sided: p = 2 P(T > |t|), interval = d -/+ t_{1-alpha/2} se.
    One-sided ("greater" / "less"): p = P(T > t) / P(T < t), interval bounded on one side by
    t_{1-alpha} se. The relative effect (lift) is tested the same way on its delta-method se,
    t = lift / se_lift, with the same dof and critical value, as GrowthBook's gbstats does.
    """
    alpha = check_confidence(confidence)
    if control.n < 2 or treatment.n < 2:
        return _not_computed(control, treatment, alternative, confidence, Reason.NOT_ENOUGH_DATA)
    se2 = treatment.variance / treatment.n + control.variance / control.n
    if not se2 > 0.0:
        return _not_computed(control, treatment, alternative, confidence, Reason.ZERO_VARIANCE)

    se = math.sqrt(se2)
    dof = welch_dof(control, treatment)
    difference = treatment.mean - control.mean
    t = difference / se
    tail = alpha if alternative is not Alternative.TWO_SIDED else alpha / 2.0
    critical = float(stats.t.isf(tail, dof))
    p_value = _p_value(t, dof, alternative)
    absolute = Effect(difference, se, _interval(difference, se, critical, alternative), p_value)

    lift_v = relative_variance(control, treatment) if control.mean != 0.0 else 0.0
    if control.mean == 0.0:
        relative = Effect(0.0, 0.0, UNBOUNDED, 1.0, Reason.ZERO_CONTROL_MEAN)
    elif not lift_v > 0.0:
        # A constant zero treatment arm leaves the delta method without a variance.
        lift = lift_of(control, treatment)
        relative = Effect(lift, 0.0, UNBOUNDED, 1.0, Reason.ZERO_VARIANCE)
    else:
        lift = lift_of(control, treatment)
        lift_se = math.sqrt(lift_v)
        relative = Effect(
            lift,
            lift_se,
            _interval(lift, lift_se, critical, alternative),
            _p_value(lift / lift_se, dof, alternative),
        )

    return WelchResult(
        alternative=alternative,
        confidence=confidence,
        absolute=absolute,
        relative=relative,
        t=t,
        dof=dof,
        p_value=p_value,
    )
