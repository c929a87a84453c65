"""Power, minimum detectable effect and sample size for two arms of equal size.

The large-sample normal approximation to the two-sample test of a difference in means with
per-observation variance sigma^2 in each arm: se = sigma sqrt(2 / n) at n per arm, and

    two-sided power = Phi(|delta| / se - z_{1-alpha/2}) + Phi(-|delta| / se - z_{1-alpha/2}),
    one-sided power = Phi(+/-delta / se - z_{1-alpha}),

(Chow, Shao and Wang, "Sample Size Calculations in Clinical Research", 2nd ed., 2008,
Section 3.2.1; the two-sided form keeps the far tail, as statsmodels' NormalIndPower does).
Its inversion n = (z_{1-alpha/2} + z_{power})^2 2 sigma^2 / delta^2 is the familiar rule behind
Kohavi, Tang and Xu, "Trustworthy Online Controlled Experiments", 2020, Ch. 17 (16 sigma^2 /
delta^2 at 80% power and alpha = 0.05).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from scipy import optimize, stats  # type: ignore[import-untyped]

from shared.domain.stats.vocabulary import Alternative

DEFAULT_POWER = 0.8


@dataclass(frozen=True, slots=True)
class SampleSizePlan:
    """Entities per arm (and in all) to detect ``effect`` with ``power``; ``days`` at the
    given daily rate of entities entering the experiment, None without one."""

    effect: float
    variance: float
    alpha: float
    power: float
    arms: int
    n_per_arm: int
    n_total: int
    days: int | None


def check_variance_and_alpha(variance: float, alpha: float) -> None:
    if not variance > 0.0:
        raise ValueError(f"variance must be positive, got {variance}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")


def check_target_power(target_power: float, alpha: float) -> None:
    # Below alpha even a zero effect "reaches" the target, so no effect size is implied.
    if not alpha < target_power < 1.0:
        raise ValueError(f"target_power must lie in (alpha, 1), got {target_power}")


def _z(alpha: float, alternative: Alternative) -> float:
    tail = alpha / 2.0 if alternative is Alternative.TWO_SIDED else alpha
    return float(stats.norm.isf(tail))


def power(
    effect: float,
    variance: float,
    n_per_arm: float,
    *,
    alpha: float = 0.05,
    alternative: Alternative = Alternative.TWO_SIDED,
) -> float:
    """Power to detect a true difference ``effect`` (Chow et al. 2008, Section 3.2.1).

    ``effect`` is signed treatment minus control; "greater" detects only positive effects,
    "less" only negative ones.
    """
    check_variance_and_alpha(variance, alpha)
    shift = effect / math.sqrt(2.0 * variance / n_per_arm)
    z = _z(alpha, alternative)
    if alternative is Alternative.GREATER:
        return float(stats.norm.cdf(shift - z))
    if alternative is Alternative.LESS:
        return float(stats.norm.cdf(-shift - z))
    return float(stats.norm.cdf(abs(shift) - z) + stats.norm.cdf(-abs(shift) - z))


def _closed_form_effect(
    variance: float, n_per_arm: float, alpha: float, target: float, alternative: Alternative
) -> float:
    z_power = float(stats.norm.ppf(target))
    return (_z(alpha, alternative) + z_power) * math.sqrt(2.0 * variance / n_per_arm)


def minimum_detectable_effect(
    variance: float,
    n_per_arm: float,
    *,
    alpha: float = 0.05,
    target_power: float = DEFAULT_POWER,
    alternative: Alternative = Alternative.TWO_SIDED,
) -> float:
    """The smallest |effect| with ``power(effect) = target_power`` at n per arm.

    Starts from (z_{1-alpha/2} + z_{power}) sigma sqrt(2/n), which ignores the two-sided
    test's far tail, then solves the exact power equation; the far tail only ever helps,
    so the root lies just below that start. Returned positive; for "less" the effect to
    detect is its negative.
    """
    check_variance_and_alpha(variance, alpha)
    check_target_power(target_power, alpha)
    start = _closed_form_effect(variance, n_per_arm, alpha, target_power, alternative)
    if alternative is not Alternative.TWO_SIDED:
        return start

    def gap(effect: float) -> float:
        return power(effect, variance, n_per_arm, alpha=alpha) - target_power

    return root_below(gap, start)


def sample_size(
    effect: float,
    variance: float,
    *,
    alpha: float = 0.05,
    target_power: float = DEFAULT_POWER,
    alternative: Alternative = Alternative.TWO_SIDED,
) -> int:
    """The smallest n per arm with ``power(effect, variance, n) >= target_power``.

    n = ceil((z_{1-alpha/2} + z_{power})^2 2 sigma^2 / delta^2), then stepped down while the
    exact power (far tail included) still reaches the target. ``effect`` is absolute; for a
    relative lift pass lift * baseline mean.
    """
    check_variance_and_alpha(variance, alpha)
    if effect == 0.0:
        raise ValueError("a zero effect needs an infinite sample")
    if (alternative is Alternative.GREATER and effect < 0.0) or (
        alternative is Alternative.LESS and effect > 0.0
    ):
        # Power then falls as n grows: no sample reaches the target.
        raise ValueError(f"a {alternative.value} test cannot detect an effect of {effect}")
    check_target_power(target_power, alpha)
    z_sum = _z(alpha, alternative) + float(stats.norm.ppf(target_power))
    n = max(2, math.ceil(z_sum * z_sum * 2.0 * variance / (effect * effect)))

    def enough(m: int) -> bool:
        return power(effect, variance, m, alpha=alpha, alternative=alternative) >= target_power

    while n > 2 and enough(n - 1):
        n -= 1
    while not enough(n):
        n += 1
    return n


def root_below(gap: Callable[[float], float], start: float) -> float:
    """The effect where ``gap`` (power minus its target, rising with the effect) crosses
    zero, at or below ``start``: halve down to a bracket, then Brent's method."""
    if gap(start) <= 0.0:
        return start
    low = start
    while gap(low) > 0.0:
        low *= 0.5
    return float(optimize.brentq(gap, low, start, xtol=1e-15 * start, rtol=1e-15))


def run_days(n_total: int, daily_entities: float | None) -> int | None:
    """Days to enrol ``n_total`` entities at ``daily_entities`` a day; None without a rate."""
    if daily_entities is None:
        return None
    if not daily_entities > 0.0:
        raise ValueError(f"daily_entities must be positive, got {daily_entities}")
    return math.ceil(n_total / daily_entities)


def plan(
    effect: float,
    variance: float,
    *,
    daily_entities: float | None = None,
    arms: int = 2,
    alpha: float = 0.05,
    target_power: float = DEFAULT_POWER,
    alternative: Alternative = Alternative.TWO_SIDED,
) -> SampleSizePlan:
    """``sample_size`` per arm for every treatment against control, and the projected run time.

    With ``arms`` equal arms each treatment is compared with control at n per arm, so
    n_total = arms * n and days = ceil(n_total / daily_entities).
    """
    if arms < 2:
        raise ValueError("an experiment compares at least two arms")
    n = sample_size(
        effect, variance, alpha=alpha, target_power=target_power, alternative=alternative
    )
    n_total = n * arms
    days = run_days(n_total, daily_entities)
    return SampleSizePlan(effect, variance, alpha, target_power, arms, n, n_total, days)
