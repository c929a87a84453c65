"""Always-valid sequential test: the mixture SPRT for a difference in means.

Johari, Koomen, Pekelis and Walsh, "Always valid inference: continuous monitoring of A/B
tests", arXiv 1512.04922, Operations Research 70(3), 2022. With an estimated effect d_n of
variance V_n and a normal mixing distribution N(0, tau^2) over the true effect, the mixture
likelihood ratio against H0: effect = 0 is (the paper's normal-data closed form, with V_n in
place of 2 sigma^2 / n for unbalanced arms)

    Lambda_n = sqrt(V_n / (V_n + tau^2)) * exp(tau^2 d_n^2 / (2 V_n (V_n + tau^2))),

the always-valid p-value is p_n = min_{k <= n} min(1, 1 / Lambda_k), and the confidence
sequence is the running intersection of the sets {theta : Lambda_k(theta) < 1 / alpha}, where
Lambda_k(theta) tests H0: effect = theta; each set is d_k -/+ h_k with

    h_n^2 = V_n (V_n + tau^2) / tau^2 * (2 log(1 / alpha) + log((V_n + tau^2) / V_n)).

Choice of tau^2: tau^2 = rho^2 sigma^2 with sigma^2 = n V_n the per-observation variance
(n = n_c + n_t) and rho^2 = (2 log(1/alpha) + log(1 + 2 log(1/alpha))) / N*, the closed-form
approximate optimum that makes the two-sided normal-mixture boundary tightest near N*
observations (Howard, Ramdas, McAuliffe and Sekhon, "Time-uniform, nonparametric,
nonasymptotic confidence sequences", Annals of Statistics 2021, arXiv 1810.08240, tuning of
the normal mixture). GrowthBook gbstats picks rho the same way from its
``sequential_tuning_parameter`` (default 5000), and with this tau^2 the sequence above equals
the asymptotic confidence sequence of Waudby-Smith et al., arXiv 2103.06476, that it reports.
The plug-in variance makes the guarantee asymptotic, as in Johari et al.'s deployment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from shared.domain.stats.mixture import (
    DEFAULT_N_STAR,
    half_width,
    log_likelihood_ratio,
    mixing_rho2,
)
from shared.domain.stats.moments import Moments
from shared.domain.stats.sequential_one_sided import (
    one_sided_log_likelihood_ratio,
    one_sided_msprt_effect,
    one_sided_rho2,
)
from shared.domain.stats.vocabulary import UNBOUNDED, Alternative, Effect, Interval, Reason
from shared.domain.stats.welch import FloatArray, check_confidence, lift_of, relative_variance


@dataclass(frozen=True, slots=True)
class SequentialLook:
    """One look of the mSPRT at cumulative data.

    Each effect carries its own test: ``absolute`` of mean_t - mean_c = 0 on the difference's
    variance, ``relative`` of lift = 0 on the delta-method variance of the lift, each with its
    own mixing variance tau^2 = rho^2 n V, so each p-value is below alpha exactly when its
    interval excludes zero (gbstats' sequential test on either scale). ``p_value``,
    ``log_lr`` and ``tau2`` are the absolute scale's. The values are valid at this look taken
    alone; pass the looks in time order to ``sequential_series`` for the values to report.
    """

    n: int
    confidence: float
    n_star: float
    tau2: float
    log_lr: float
    p_value: float
    absolute: Effect
    relative: Effect
    reason: Reason | None = None
    alternative: Alternative = Alternative.TWO_SIDED

    @property
    def significant(self) -> bool:
        return self.reason is None and self.p_value < 1.0 - self.confidence


def _effect(
    d: float, v: float, rho2: float, n: int, alpha: float, alternative: Alternative
) -> tuple[Effect, float, float]:
    """(effect with its interval and p-value, tau^2, log Lambda) on one scale."""
    tau2 = rho2 * n * v
    if alternative is Alternative.TWO_SIDED:
        h = half_width(v, tau2, alpha)
        log_lr = log_likelihood_ratio(d, v, tau2)
        p_value = math.exp(min(0.0, -log_lr))
        return Effect(d, math.sqrt(v), Interval(d - h, d + h), p_value), tau2, log_lr
    p_value, interval = one_sided_msprt_effect(d, v, rho2, n, alpha, alternative)
    sign = 1.0 if alternative is Alternative.GREATER else -1.0
    log_lr = one_sided_log_likelihood_ratio(sign * d, v, tau2)
    return Effect(d, math.sqrt(v), interval, p_value), tau2, log_lr


def msprt(
    control: Moments,
    treatment: Moments,
    *,
    confidence: float = 0.95,
    n_star: float = DEFAULT_N_STAR,
    alternative: Alternative = Alternative.TWO_SIDED,
) -> SequentialLook:
    """One always-valid look at mean_t - mean_c (Johari et al. 2022) and at the lift.

    d = mean_t - mean_c, V = s_t^2/n_t + s_c^2/n_c, tau^2 = rho^2 (n_c + n_t) V with rho^2 from
    ``mixing_rho2(1 - confidence, n_star)``; p = min(1, 1/Lambda). The lift mean_t/mean_c - 1
    is tested the same way on its delta-method variance (``welch.relative_variance``), with
    its own tau^2 = rho^2 n V_lift. A one-sided ``alternative`` uses the half-normal mixture
    of ``sequential_one_sided.py``, tuned as gbstats tunes it (rho^2 at 2 alpha).
    """
    alpha = check_confidence(confidence)
    one_sided = alternative is not Alternative.TWO_SIDED and alpha < 0.5
    rho2 = one_sided_rho2(alpha, n_star) if one_sided else mixing_rho2(alpha, n_star)
    if not one_sided:
        alternative = Alternative.TWO_SIDED
    n = control.n + treatment.n

    def thin(reason: Reason) -> SequentialLook:
        blank = Effect(0.0, 0.0, UNBOUNDED, 1.0, reason)
        return SequentialLook(
            n, confidence, n_star, 0.0, 0.0, 1.0, blank, blank, reason, alternative
        )

    if control.n < 2 or treatment.n < 2:
        return thin(Reason.NOT_ENOUGH_DATA)
    v = treatment.variance / treatment.n + control.variance / control.n
    if not v > 0.0:
        return thin(Reason.ZERO_VARIANCE)

    d = treatment.mean - control.mean
    absolute, tau2, log_lr = _effect(d, v, rho2, n, alpha, alternative)

    if control.mean == 0.0:
        relative = Effect(0.0, 0.0, UNBOUNDED, 1.0, Reason.ZERO_CONTROL_MEAN)
    else:
        lift = lift_of(control, treatment)
        lift_v = relative_variance(control, treatment)
        if lift_v > 0.0:
            relative, _, _ = _effect(lift, lift_v, rho2, n, alpha, alternative)
        else:
            # A constant zero treatment arm leaves the delta method without a variance.
            relative = Effect(lift, 0.0, UNBOUNDED, 1.0, Reason.ZERO_VARIANCE)
    return SequentialLook(
        n,
        confidence,
        n_star,
        tau2,
        log_lr,
        absolute.p_value,
        absolute,
        relative,
        alternative=alternative,
    )


def running_p_values(p_values: Sequence[float]) -> tuple[float, ...]:
    """p*_n = min_{k <= n} p_k (Johari et al. 2022, always-valid p-value definition).

    The minimum over looks is what stays valid at a data-dependent stopping time.
    """
    out: list[float] = []
    low = 1.0
    for p in p_values:
        low = min(low, p)
        out.append(low)
    return tuple(out)


def running_intersection(intervals: Sequence[Interval]) -> tuple[Interval, ...]:
    """CS*_n = intersection of CS_k over k <= n (Johari et al. 2022; Howard et al. 2021).

    An empty intersection is kept as such (``Interval.is_empty``): under the model it happens
    with probability at most alpha, and hiding it would hide a misspecified model.
    """
    out: list[Interval] = []
    current = UNBOUNDED
    for interval in intervals:
        current = current.intersect(interval)
        out.append(current)
    return tuple(out)


def sequential_series(looks: Sequence[SequentialLook]) -> tuple[SequentialLook, ...]:
    """The reported series: running-min p-values and running-intersection sequences.

    ``looks`` must be cumulative snapshots in time order. Thin looks contribute p = 1 and an
    unbounded interval, so they leave the running values unchanged.
    """
    p_values = running_p_values([look.p_value for look in looks])
    absolute_p = running_p_values([look.absolute.p_value for look in looks])
    relative_p = running_p_values([look.relative.p_value for look in looks])
    absolute = running_intersection([look.absolute.interval for look in looks])
    relative = running_intersection([look.relative.interval for look in looks])
    return tuple(
        replace(
            look,
            p_value=p,
            absolute=replace(look.absolute, interval=a, p_value=ap),
            relative=replace(look.relative, interval=r, p_value=rp),
        )
        for look, p, ap, rp, a, r in zip(
            looks, p_values, absolute_p, relative_p, absolute, relative, strict=True
        )
    )


def _msprt_p_values(
    n_c: FloatArray,
    mean_c: FloatArray,
    var_c: FloatArray,
    n_t: FloatArray,
    mean_t: FloatArray,
    var_t: FloatArray,
    *,
    confidence: float = 0.95,
    n_star: float = DEFAULT_N_STAR,
) -> FloatArray:
    """Vectorised twin of ``msprt(...).p_value`` for simulations over many looks at once."""
    rho2 = mixing_rho2(check_confidence(confidence), n_star)
    v = var_t / n_t + var_c / n_c
    d = mean_t - mean_c
    tau2 = rho2 * (n_c + n_t) * v
    log_lr = 0.5 * np.log(v / (v + tau2)) + tau2 * d * d / (2.0 * v * (v + tau2))
    return np.exp(np.minimum(0.0, -log_lr))
