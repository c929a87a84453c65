"""Power, MDE and sample size against statsmodels' NormalIndPower, and a simulation: a true 5%
lift at the n planned for 80% power is detected about 80% of the time by Welch's test."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.power import NormalIndPower

from shared.domain.stats.moments import Moments
from shared.domain.stats.power import (
    minimum_detectable_effect,
    plan,
    power,
    sample_size,
)
from shared.domain.stats.vocabulary import Alternative
from shared.domain.stats.welch import welch

STATSMODELS = {
    Alternative.TWO_SIDED: "two-sided",
    Alternative.GREATER: "larger",
    Alternative.LESS: "smaller",
}
effects = st.floats(min_value=-5.0, max_value=5.0).filter(lambda e: abs(e) > 1e-3)
variances = st.floats(min_value=0.01, max_value=100.0)
sizes = st.integers(min_value=2, max_value=1_000_000)
alphas = st.sampled_from([0.01, 0.05, 0.1])
alternatives = st.sampled_from(list(Alternative))


@settings(max_examples=100, deadline=None)
@given(effects, variances, sizes, alphas, alternatives)
def test_power_matches_statsmodels(
    effect: float, variance: float, n: int, alpha: float, alternative: Alternative
) -> None:
    ours = power(effect, variance, n, alpha=alpha, alternative=alternative)
    theirs = NormalIndPower().power(
        effect / math.sqrt(variance), n, alpha, ratio=1, alternative=STATSMODELS[alternative]
    )
    # Same closed form; 1e-9 relative, and 1e-15 absolute for powers that underflow.
    assert ours == pytest.approx(theirs, rel=1e-9, abs=1e-15)


@settings(max_examples=40, deadline=None)
@given(variances, sizes, alphas, st.sampled_from([0.5, 0.8, 0.9, 0.95]), alternatives)
def test_mde_reaches_the_target_power(
    variance: float, n: int, alpha: float, target: float, alternative: Alternative
) -> None:
    mde = minimum_detectable_effect(
        variance, n, alpha=alpha, target_power=target, alternative=alternative
    )
    signed = -mde if alternative is Alternative.LESS else mde
    assert power(signed, variance, n, alpha=alpha, alternative=alternative) == pytest.approx(
        target, abs=1e-9
    )
    # statsmodels' power function, independent of ours, lands on the target at our MDE. (Its
    # solve_power root finder stops early, around 1e-5 relative, so it is not the reference.)
    theirs = NormalIndPower().power(
        signed / math.sqrt(variance), n, alpha, ratio=1, alternative=STATSMODELS[alternative]
    )
    assert theirs == pytest.approx(target, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(effects, variances, alphas, st.sampled_from([0.8, 0.9]), alternatives)
def test_sample_size_is_the_smallest_that_reaches_the_target(
    effect: float, variance: float, alpha: float, target: float, alternative: Alternative
) -> None:
    if alternative is Alternative.GREATER:
        effect = abs(effect)
    elif alternative is Alternative.LESS:
        effect = -abs(effect)
    n = sample_size(effect, variance, alpha=alpha, target_power=target, alternative=alternative)
    assert power(effect, variance, n, alpha=alpha, alternative=alternative) >= target
    if n > 2:
        assert power(effect, variance, n - 1, alpha=alpha, alternative=alternative) < target


def test_the_familiar_rule_of_thumb() -> None:
    # Kohavi et al.: n per arm is about 16 sigma^2 / delta^2 at alpha 0.05 and 80% power.
    n = sample_size(0.5, 25.0)
    assert n == pytest.approx(16 * 25.0 / 0.25, rel=0.02)


def test_plan_projects_the_run_time() -> None:
    p = plan(0.5, 25.0, daily_entities=1000.0, arms=3)
    assert p.n_per_arm == sample_size(0.5, 25.0)
    assert p.n_total == 3 * p.n_per_arm
    assert p.days == math.ceil(p.n_total / 1000.0)
    assert plan(0.5, 25.0).days is None
    with pytest.raises(ValueError):
        plan(0.5, 25.0, arms=1)
    with pytest.raises(ValueError):
        plan(0.0, 25.0)
    with pytest.raises(ValueError):
        plan(0.5, 25.0, daily_entities=0.0)


def test_invalid_targets_are_an_error() -> None:
    with pytest.raises(ValueError):
        minimum_detectable_effect(1.0, 100, target_power=0.01)
    with pytest.raises(ValueError):
        power(1.0, 0.0, 100)


def test_simulated_power_of_a_five_percent_lift() -> None:
    runs, baseline, sd = 2000, 10.0, 5.0
    effect = 0.05 * baseline
    n = sample_size(effect, sd * sd)
    rng = np.random.default_rng(8080)
    detected = 0
    for _ in range(runs):
        control = rng.normal(baseline, sd, n)
        treatment = rng.normal(baseline + effect, sd, n)
        result = welch(
            Moments(n, float(control.mean()), float(control.var() * n)),
            Moments(n, float(treatment.mean()), float(treatment.var() * n)),
        )
        detected += result.significant and result.absolute.estimate > 0
    rate = detected / runs
    print(f"\npower simulation: n = {n} per arm, 5% lift detected in {rate:.4f} of {runs} runs")
    # The binomial sd of the rate over 2000 runs is 0.009; 0.74..0.86 is over six of them.
    assert 0.74 <= rate <= 0.86


def test_a_one_sided_plan_against_its_own_direction_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot detect"):
        sample_size(-0.5, 25.0, alternative=Alternative.GREATER)
    with pytest.raises(ValueError, match="cannot detect"):
        sample_size(0.5, 25.0, alternative=Alternative.LESS)
