"""An independent reference for the default analysis, look by look: pure, numpy/statsmodels.

Nothing here imports Verdict. The formulas are GrowthBook gbstats' sequential test on the
relative lift (``SequentialTwoSidedTTest``): the delta-method variance of the lift, the
mixture SPRT e-value with gbstats' tuning of rho, and the asymptotic confidence sequence of
Waudby-Smith et al. (arXiv 2103.06476, eq. 9); then the always-valid running minimum of
p-values and running intersection of intervals over looks (Johari et al. 2022), and Holm's
correction across the family at every look (statsmodels ``multipletests``).

Moments are computed exactly (``fractions.Fraction``) and rounded once, so a metric offset
by 1e9 with a spread of 1 loses nothing here: whatever the reference and the system under
test disagree on is the system's rounding, not the reference's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from statsmodels.stats.multitest import multipletests

DEFAULT_N_STAR = 5000.0


@dataclass(frozen=True)
class ArmStats:
    """n, mean and the unbiased (ddof=1) variance of one arm's per-entity outcomes."""

    n: int
    mean: float
    variance: float


def arm_stats(values: Sequence[float]) -> ArmStats:
    """Exact n, mean and ddof=1 variance of floats, each rounded once to a double."""
    n = len(values)
    if n == 0:
        return ArmStats(0, 0.0, 0.0)
    exact = [Fraction(v) for v in values]
    total = sum(exact, Fraction(0))
    mean = total / n
    if n < 2:
        return ArmStats(n, float(mean), 0.0)
    m2 = sum(((v - mean) ** 2 for v in exact), Fraction(0))
    return ArmStats(n, float(mean), float(m2 / (n - 1)))


@dataclass(frozen=True)
class LookEffect:
    """One look on one scale: the estimate, the always-valid interval at this look alone and
    the p-value at this look alone. ``thin`` when the test cannot run (p = 1, unbounded)."""

    estimate: float
    low: float
    high: float
    p_value: float
    thin: bool = False


UNBOUNDED_LOW, UNBOUNDED_HIGH = -math.inf, math.inf


def rho_squared(alpha: float, n_star: float = DEFAULT_N_STAR) -> float:
    """gbstats' mixing parameter: rho^2 = (2 log(1/alpha) + log(1 + 2 log(1/alpha))) / N*."""
    a = 2.0 * math.log(1.0 / alpha)
    return (a + math.log(1.0 + a)) / n_star


def msprt_p_value(estimate: float, variance: float, n: int, alpha: float) -> float:
    """gbstats: st2 = d^2 N / V, tr2p1 = N rho^2 + 1,
    evalue = exp(rho^2 st2 / (2 tr2p1)) / sqrt(tr2p1), p = min(1, 1 / evalue);
    evaluated in logs, so that a huge e-value gives p = 0 rather than an overflow."""
    rho2 = rho_squared(alpha)
    st2 = estimate * estimate * n / variance
    tr2p1 = n * rho2 + 1.0
    log_evalue = rho2 * st2 / (2.0 * tr2p1) - 0.5 * math.log(tr2p1)
    return min(1.0, math.exp(-log_evalue))


def confidence_half_width(variance: float, n: int, alpha: float) -> float:
    """gbstats (Waudby-Smith et al., eq. 9): s2 = V N,
    width = sqrt(s2) sqrt(2 (N rho^2 + 1) log(sqrt(N rho^2 + 1) / alpha) / (N rho)^2)."""
    rho2 = rho_squared(alpha)
    s2 = variance * n
    t2 = n * rho2
    return math.sqrt(s2) * math.sqrt(
        2.0 * (t2 + 1.0) * math.log(math.sqrt(t2 + 1.0) / alpha) / (n * n * rho2)
    )


def _thin(estimate: float = 0.0) -> LookEffect:
    return LookEffect(estimate, UNBOUNDED_LOW, UNBOUNDED_HIGH, 1.0, thin=True)


def _tested(estimate: float, variance: float, n: int, alpha: float) -> LookEffect:
    h = confidence_half_width(variance, n, alpha)
    return LookEffect(
        estimate, estimate - h, estimate + h, msprt_p_value(estimate, variance, n, alpha)
    )


def relative_look(control: ArmStats, treatment: ArmStats, alpha: float) -> LookEffect:
    """The lift mean_t / mean_c - 1 with the delta-method variance
    V = var_t / (n_t mean_c^2) + mean_t^2 var_c / (n_c mean_c^4)."""
    if control.n < 2 or treatment.n < 2:
        return _thin()
    if treatment.variance / treatment.n + control.variance / control.n <= 0.0:
        return _thin()  # no variance at all: nothing to test on either scale
    if control.mean == 0.0:
        return _thin()
    lift = treatment.mean / control.mean - 1.0
    mc2 = control.mean**2
    v = treatment.variance / (treatment.n * mc2) + treatment.mean**2 * control.variance / (
        control.n * mc2 * mc2
    )
    if not v > 0.0:
        return _thin(lift)
    return _tested(lift, v, control.n + treatment.n, alpha)


def absolute_look(control: ArmStats, treatment: ArmStats, alpha: float) -> LookEffect:
    """mean_t - mean_c with V = var_t / n_t + var_c / n_c."""
    if control.n < 2 or treatment.n < 2:
        return _thin()
    v = treatment.variance / treatment.n + control.variance / control.n
    if not v > 0.0:
        return _thin()
    return _tested(treatment.mean - control.mean, v, control.n + treatment.n, alpha)


@dataclass(frozen=True)
class Running:
    """The always-valid values to report after a look: min p so far, interval intersection."""

    p_value: float
    low: float
    high: float


START = Running(1.0, UNBOUNDED_LOW, UNBOUNDED_HIGH)


def advance(previous: Running, look: LookEffect) -> Running:
    """Running minimum of p-values and running intersection of intervals, one look on."""
    return Running(
        min(previous.p_value, look.p_value),
        max(previous.low, look.low),
        min(previous.high, look.high),
    )


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment (statsmodels)."""
    return [float(p) for p in multipletests(np.asarray(p_values, dtype=float), method="holm")[1]]
