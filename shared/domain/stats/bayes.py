"""Bayesian report on the relative lift of a treatment over control.

The lift L = mean_t / mean_c - 1 is summarised by a normal likelihood: its estimate with the
delta-method variance (Deng, Knoblich and Lu, KDD 2018; ``welch.relative_variance``), as
GrowthBook gbstats does for its relative effects. A flat prior leaves that normal as the
posterior; a proper N(m0, v0) prior is combined by precision weighting (the normal-normal
conjugate update, Gelman et al., "Bayesian Data Analysis", 3rd ed., Section 2.5):

    1 / v1 = 1 / v0 + 1 / s^2,    m1 = v1 (m0 / v0 + L_hat / s^2).

From N(m1, v1): chance to beat control, the expected loss of each decision (Stucchio,
"Bayesian A/B testing at VWO", 2015, loss = the lift forgone by the decision), and CloudWatch
Evidently's three probabilities P(L >= +3%), P(L <= -3%), P(-3% < L < +3%) with its verdict at
90%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from scipy import stats  # type: ignore[import-untyped]

from shared.domain.stats.moments import Moments
from shared.domain.stats.vocabulary import UNBOUNDED, DesiredChange, Interval, Reason
from shared.domain.stats.welch import check_confidence, lift_of, relative_variance


class Verdict(StrEnum):
    BETTER = "Better"
    WORSE = "Worse"
    INCONCLUSIVE = "Inconclusive"


@dataclass(frozen=True, slots=True)
class NormalPrior:
    """A proper normal prior N(mean, variance) on the relative lift."""

    mean: float
    variance: float

    def __post_init__(self) -> None:
        if not self.variance > 0.0:
            raise ValueError(f"prior variance must be positive, got {self.variance}")


@dataclass(frozen=True, slots=True)
class BayesResult:
    """Posterior N(mean, sd^2) of the lift and the decisions read from it.

    Probabilities ``p_above`` = P(L >= threshold), ``p_below`` = P(L <= -threshold) and
    ``p_within`` are about the lift itself; ``chance_to_beat_control``, the risks and the
    verdict follow ``desired_change``. ``risk_ship`` is the expected lift forgone by shipping
    the treatment, ``risk_keep`` that forgone by keeping control. With ``reason`` set, the
    posterior is uninformative: chance 0.5, risks 0, verdict inconclusive.
    """

    desired_change: DesiredChange
    mean: float
    sd: float
    interval: Interval
    chance_to_beat_control: float
    risk_ship: float
    risk_keep: float
    p_above: float
    p_below: float
    p_within: float
    verdict: Verdict
    reason: Reason | None = None


def posterior(estimate: float, variance: float, prior: NormalPrior | None) -> tuple[float, float]:
    """(m1, v1) of the normal-normal update (Gelman et al., BDA3, Section 2.5); flat if None."""
    if prior is None:
        return estimate, variance
    precision = 1.0 / prior.variance + 1.0 / variance
    v1 = 1.0 / precision
    return v1 * (prior.mean / prior.variance + estimate / variance), v1


def positive_part_mean(mean: float, sd: float) -> float:
    """E[max(0, X)] for X ~ N(mean, sd^2) = mean Phi(mean/sd) + sd phi(mean/sd).

    The first partial moment of a normal (Winkler, Roodman and Britney, "The determination of
    partial moments", Management Science 19(3), 1972).
    """
    z = mean / sd
    return mean * float(stats.norm.cdf(z)) + sd * float(stats.norm.pdf(z))


def _uninformative(desired_change: DesiredChange, reason: Reason) -> BayesResult:
    return BayesResult(
        desired_change=desired_change,
        mean=0.0,
        sd=0.0,
        interval=UNBOUNDED,
        chance_to_beat_control=0.5,
        risk_ship=0.0,
        risk_keep=0.0,
        p_above=0.0,
        p_below=0.0,
        p_within=1.0,
        verdict=Verdict.INCONCLUSIVE,
        reason=reason,
    )


def bayes(
    control: Moments,
    treatment: Moments,
    *,
    prior: NormalPrior | None = None,
    desired_change: DesiredChange | str = DesiredChange.INCREASE,
    threshold: float = 0.03,
    verdict_probability: float = 0.9,
    confidence: float = 0.95,
) -> BayesResult:
    """Posterior of the lift and the report Evidently shows (see module docstring).

    With Z = (L - m1) / sqrt(v1):
    chance to beat control = P(L > 0) = Phi(m1 / sd) for INCREASE, Phi(-m1 / sd) for DECREASE;
    risk_ship = E[max(0, -L)] and risk_keep = E[max(0, L)] for INCREASE (swapped for DECREASE);
    p_above = 1 - Phi((threshold - m1) / sd), p_below = Phi((-threshold - m1) / sd);
    verdict Better when the desired side's probability reaches ``verdict_probability``, Worse
    when the other side's does; ``interval`` is the equal-tailed credible interval.
    """
    change = DesiredChange(desired_change)
    alpha = check_confidence(confidence)
    if control.n < 2 or treatment.n < 2:
        return _uninformative(change, Reason.NOT_ENOUGH_DATA)
    if control.mean == 0.0:
        return _uninformative(change, Reason.ZERO_CONTROL_MEAN)
    variance = relative_variance(control, treatment)
    if not variance > 0.0:
        return _uninformative(change, Reason.ZERO_VARIANCE)

    lift = lift_of(control, treatment)
    mean, v1 = posterior(lift, variance, prior)
    sd = math.sqrt(v1)
    p_positive = float(stats.norm.sf(-mean / sd))
    gain = positive_part_mean(mean, sd)
    loss = positive_part_mean(-mean, sd)
    p_above = float(stats.norm.sf((threshold - mean) / sd))
    p_below = float(stats.norm.cdf((-threshold - mean) / sd))
    p_within = max(0.0, 1.0 - p_above - p_below)
    z = float(stats.norm.isf(alpha / 2.0))

    increase = change is DesiredChange.INCREASE
    p_good, p_bad = (p_above, p_below) if increase else (p_below, p_above)
    if p_good >= verdict_probability:
        verdict = Verdict.BETTER
    elif p_bad >= verdict_probability:
        verdict = Verdict.WORSE
    else:
        verdict = Verdict.INCONCLUSIVE

    return BayesResult(
        desired_change=change,
        mean=mean,
        sd=sd,
        interval=Interval(mean - z * sd, mean + z * sd),
        chance_to_beat_control=p_positive if increase else float(stats.norm.cdf(-mean / sd)),
        risk_ship=loss if increase else gain,
        risk_keep=gain if increase else loss,
        p_above=p_above,
        p_below=p_below,
        p_within=p_within,
        verdict=verdict,
    )
