"""Power, minimum detectable effect and sample size for the mSPRT, two arms of equal size.

``power.py`` plans with the fixed-horizon boundary z_{1-alpha/2}; an experiment analysed with
the always-valid mixture SPRT (``msprt.py``: Robbins' method of mixtures, Ann. Math. Statist.
41, 1970, as Johari et al., arXiv 1512.04922, Operations Research 2022, apply it to A/B tests,
with rho^2 tuned as in Howard et al., arXiv 1810.08240, Annals of Statistics 2021) rejects only
when |d| clears the wider confidence-sequence half-width, so that plan understates the n the
sequential test needs.

Definition used: power at the horizon. With n per arm and per-observation variance sigma^2
in each arm, V = 2 sigma^2 / n, N = 2n and tau^2 = rho^2 N V as ``msprt.msprt`` sets it. The
final look rejects H0: effect = 0 when |d| > h_n, the half-width of ``msprt.half_width``; as a
multiple of se = sqrt(V) that boundary is

    z_seq(n) = h_n / sqrt(V) = sqrt((1 + r) / r * (2 log(1/alpha) + log(1 + r))),  r = rho^2 N,

so it depends on n only through rho^2 N, and d ~ N(delta, V) gives

    power = Phi(|delta| / se - z_seq) + Phi(-|delta| / se - z_seq),

the fixed-horizon formula of ``power.py`` with z_seq in place of z_{1-alpha/2}. For "greater"
(and mirrored for "less") the one-sided mixture of ``sequential_one_sided.py`` rejects when d
exceeds its root u_n, z_seq = u_n / sqrt(V) with rho^2 = ``one_sided_rho2``, and power =
Phi(delta / se - z_seq).

Why this definition: it is what GrowthBook's gbstats computes for mid-experiment sequential
power (``gbstats/power/midexperimentpower.py``: the boundary is
``sequential_interval_halfwidth`` over the pairwise total n, the noise stays the true se), it
has a closed form, and it is a lower bound on the quantity a planner wants. The always-valid
test rejects by the horizon when its running-minimum p-value drops below alpha at any look up
to n; that event contains the final-look rejection, so the probability of rejecting by the
horizon is at least this power under any monitoring schedule, and is largest under continuous
monitoring. The gap is the chance of an early crossing whose path ends back inside the
boundary: at the 80% MDE, 2 to 6 points with 20 equally spaced looks (measured in
``tests/unit/shared/domain/stats/test_sequential_power.py``) and about 4 to 8 with thousands
of looks, so the plan errs on the side of a longer experiment. GrowthBook's pre-experiment
calculator (``packages/shared/src/power/power.ts``; docs "power-technical", "Sequential
testing") instead scales the standard error by z_seq / z_{1-alpha/2} and keeps
z_{1-alpha/2}, which widens the noise as well as the boundary and so, at any power above 1/2,
reports less than even the final look has (about 0.7 at the 80% MDE here); it is not used.

Power is increasing in n wherever it exceeds alpha, so the smallest n is found by bisection.
With s = |delta| / se, ds/dn = s / (2n), while both boundaries have d z_seq^2 / dn <= 1/n
(differentiate z_seq^2 in r; for the one-sided root, implicitly). The derivative of the power
is then positive once s z_seq tanh(s z_seq) >= 1 (two-sided) or s z_seq >= 1 (one-sided), and
a power above alpha forces that, since z_seq never falls below its minimum over n (checked
over alpha in the tests). Like ``power.py`` this is the normal approximation with known
variance; N* counts both arms, as in ``msprt.mixing_rho2``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats  # type: ignore[import-untyped]

from shared.domain.stats.mixture import DEFAULT_N_STAR, half_width, mixing_rho2
from shared.domain.stats.power import (
    check_target_power,
    check_variance_and_alpha,
    root_below,
    run_days,
)
from shared.domain.stats.sequential_one_sided import one_sided_half_width, one_sided_rho2
from shared.domain.stats.vocabulary import Alternative

DEFAULT_POWER = 0.8
# 2^60 entities per arm: beyond any experiment, and still exact as a float.
_MAX_N = 2**60


@dataclass(frozen=True, slots=True)
class SequentialSampleSizePlan:
    """Entities per arm (and in all) for the mSPRT to detect ``effect`` with ``power`` by the
    horizon; ``days`` at the given daily rate of entities entering, None without one."""

    effect: float
    variance: float
    alpha: float
    power: float
    n_star: float
    alternative: Alternative
    arms: int
    n_per_arm: int
    n_total: int
    days: int | None


def boundary_multiplier(
    n_per_arm: float,
    *,
    alpha: float = 0.05,
    n_star: float = DEFAULT_N_STAR,
    alternative: Alternative = Alternative.TWO_SIDED,
) -> float:
    """z_seq(n): the final-look rejection boundary of the mSPRT in standard errors.

    Two-sided: h_n / sqrt(V) from ``msprt.half_width`` with rho^2 = mixing_rho2(alpha, N*);
    one-sided: the half-normal mixture's root with rho^2 = one_sided_rho2(alpha, N*). Always
    at least the fixed-horizon z, since the final look alone keeps level alpha.
    """
    if not n_per_arm > 0.0:
        raise ValueError(f"n_per_arm must be positive, got {n_per_arm}")
    if alternative is Alternative.TWO_SIDED:
        # V = 1 without loss of generality: the multiplier depends on r = rho^2 N only.
        return half_width(1.0, mixing_rho2(alpha, n_star) * 2.0 * n_per_arm, alpha)
    return one_sided_half_width(1.0, one_sided_rho2(alpha, n_star) * 2.0 * n_per_arm, alpha)


def power(
    effect: float,
    variance: float,
    n_per_arm: float,
    *,
    alpha: float = 0.05,
    n_star: float = DEFAULT_N_STAR,
    alternative: Alternative = Alternative.TWO_SIDED,
) -> float:
    """Probability that the mSPRT's final look at n per arm rejects (module docstring).

    A lower bound on the probability of rejecting at some look up to the horizon. ``effect``
    is signed treatment minus control; "greater" detects only positive effects, "less" only
    negative ones.
    """
    check_variance_and_alpha(variance, alpha)
    shift = effect / math.sqrt(2.0 * variance / n_per_arm)
    z = boundary_multiplier(n_per_arm, alpha=alpha, n_star=n_star, alternative=alternative)
    if alternative is Alternative.GREATER:
        return float(stats.norm.cdf(shift - z))
    if alternative is Alternative.LESS:
        return float(stats.norm.cdf(-shift - z))
    return float(stats.norm.cdf(abs(shift) - z) + stats.norm.cdf(-abs(shift) - z))


def minimum_detectable_effect(
    variance: float,
    n_per_arm: float,
    *,
    alpha: float = 0.05,
    n_star: float = DEFAULT_N_STAR,
    target_power: float = DEFAULT_POWER,
    alternative: Alternative = Alternative.TWO_SIDED,
) -> float:
    """The smallest |effect| with ``power(effect) = target_power`` at n per arm.

    One-sided: (z_seq + z_power) se exactly. Two-sided: that value ignores the far tail,
    which only helps, so the root lies just below it and brentq finds it. Returned positive;
    for "less" the effect to detect is its negative.
    """
    check_variance_and_alpha(variance, alpha)
    check_target_power(target_power, alpha)
    se = math.sqrt(2.0 * variance / n_per_arm)
    z = boundary_multiplier(n_per_arm, alpha=alpha, n_star=n_star, alternative=alternative)
    start = (z + float(stats.norm.ppf(target_power))) * se
    if alternative is not Alternative.TWO_SIDED:
        return start

    def gap(effect: float) -> float:
        shift = effect / se
        reach = float(stats.norm.cdf(shift - z) + stats.norm.cdf(-shift - z))
        return reach - target_power

    return root_below(gap, start)


def sample_size(
    effect: float,
    variance: float,
    *,
    alpha: float = 0.05,
    n_star: float = DEFAULT_N_STAR,
    target_power: float = DEFAULT_POWER,
    alternative: Alternative = Alternative.TWO_SIDED,
) -> int:
    """The smallest n per arm (at least 2) with ``power(effect, variance, n) >= target_power``.

    No closed form, since z_seq moves with n: doubling finds a sufficient n, bisection the
    smallest, which is exact because the power is increasing in n above alpha (module
    docstring). ``effect`` is absolute and signed; a one-sided alternative pointing away from
    it can never reach the target and is an error.
    """
    check_variance_and_alpha(variance, alpha)
    if effect == 0.0:
        raise ValueError("a zero effect needs an infinite sample")
    if (alternative is Alternative.GREATER and effect < 0.0) or (
        alternative is Alternative.LESS and effect > 0.0
    ):
        raise ValueError(f"a {alternative} test cannot detect an effect of {effect}")
    check_target_power(target_power, alpha)

    def enough(m: int) -> bool:
        reach = power(effect, variance, m, alpha=alpha, n_star=n_star, alternative=alternative)
        return reach >= target_power

    if enough(2):
        return 2
    low, high = 2, 4
    while not enough(high):
        if high >= _MAX_N:
            raise ValueError(f"the effect {effect} is undetectable below {_MAX_N} per arm")
        low, high = high, 2 * high
    while high - low > 1:
        middle = (low + high) // 2
        if enough(middle):
            high = middle
        else:
            low = middle
    return high


def plan(
    effect: float,
    variance: float,
    *,
    daily_entities: float | None = None,
    arms: int = 2,
    alpha: float = 0.05,
    n_star: float = DEFAULT_N_STAR,
    target_power: float = DEFAULT_POWER,
    alternative: Alternative = Alternative.TWO_SIDED,
) -> SequentialSampleSizePlan:
    """``sample_size`` per arm for every treatment against control, and the run time.

    With ``arms`` equal arms each treatment is compared with control at n per arm (the
    pairwise N = 2n is what the mSPRT's tau^2 sees), so n_total = arms * n and
    days = ceil(n_total / daily_entities).
    """
    if arms < 2:
        raise ValueError("an experiment compares at least two arms")
    n = sample_size(
        effect,
        variance,
        alpha=alpha,
        n_star=n_star,
        target_power=target_power,
        alternative=alternative,
    )
    n_total = n * arms
    days = run_days(n_total, daily_entities)
    return SequentialSampleSizePlan(
        effect, variance, alpha, target_power, n_star, alternative, arms, n, n_total, days
    )
