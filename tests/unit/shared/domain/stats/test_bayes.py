"""Bayesian report against scipy.stats.norm computed directly, a Monte Carlo over the
sampling distribution of the two means, and numerical integration of the expected loss."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from shared.domain.stats.bayes import NormalPrior, Verdict, bayes, positive_part_mean, posterior
from shared.domain.stats.moments import Moments
from shared.domain.stats.vocabulary import DesiredChange, Reason


def arm(n: int, mean: float, sd: float) -> Moments:
    return Moments(n, mean, sd * sd * (n - 1))


def lift_and_variance(control: Moments, treatment: Moments) -> tuple[float, float]:
    lift = treatment.mean / control.mean - 1.0
    variance = treatment.variance / (treatment.n * control.mean**2) + (
        treatment.mean**2 * control.variance / (control.n * control.mean**4)
    )
    return lift, variance


n_arm = st.integers(min_value=10, max_value=100_000)
means = st.floats(min_value=1.0, max_value=100.0)
sds = st.floats(min_value=0.1, max_value=50.0)
changes = st.sampled_from(list(DesiredChange))


@settings(max_examples=80, deadline=None)
@given(n_arm, means, sds, n_arm, means, sds, changes)
def test_flat_prior_matches_scipy_norm(
    n_c: int, m_c: float, s_c: float, n_t: int, m_t: float, s_t: float, change: DesiredChange
) -> None:
    control, treatment = arm(n_c, m_c, s_c), arm(n_t, m_t, s_t)
    result = bayes(control, treatment, desired_change=change)
    lift, variance = lift_and_variance(control, treatment)
    sd = math.sqrt(variance)
    posterior_lift = stats.norm(lift, sd)
    assert result.reason is None
    assert result.mean == pytest.approx(lift, rel=1e-12, abs=1e-15)
    assert result.sd == pytest.approx(sd, rel=1e-12)
    beat = posterior_lift.sf(0.0) if change is DesiredChange.INCREASE else posterior_lift.cdf(0.0)
    assert result.chance_to_beat_control == pytest.approx(beat, rel=1e-9, abs=1e-12)
    assert result.p_above == pytest.approx(posterior_lift.sf(0.03), rel=1e-9, abs=1e-12)
    assert result.p_below == pytest.approx(posterior_lift.cdf(-0.03), rel=1e-9, abs=1e-12)
    within = posterior_lift.cdf(0.03) - posterior_lift.cdf(-0.03)
    assert result.p_within == pytest.approx(within, abs=1e-12)
    low, high = posterior_lift.interval(0.95)
    assert result.interval.low == pytest.approx(low, rel=1e-9, abs=1e-12)
    assert result.interval.high == pytest.approx(high, rel=1e-9, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.floats(min_value=-0.5, max_value=0.5), st.floats(min_value=1e-4, max_value=0.3))
def test_expected_loss_matches_numerical_integration(mean: float, sd: float) -> None:
    density = stats.norm(mean, sd).pdf
    # Integrate over +/- 40 sd, split at the kink of max(0, x) and at the mode, so that quad
    # sees a smooth integrand whose mass it cannot step over.
    low, high = mean - 40 * sd, mean + 40 * sd
    gain = loss = 0.0
    if high > 0.0:
        a = max(low, 0.0)
        points = [mean] if a < mean < high else None
        gain = integrate.quad(lambda x: x * density(x), a, high, points=points, epsabs=1e-14)[0]
    if low < 0.0:
        b = min(high, 0.0)
        points = [mean] if low < mean < b else None
        loss = integrate.quad(lambda x: -x * density(x), low, b, points=points, epsabs=1e-14)[0]
    assert positive_part_mean(mean, sd) == pytest.approx(gain, rel=1e-8, abs=1e-12)
    assert positive_part_mean(-mean, sd) == pytest.approx(loss, rel=1e-8, abs=1e-12)


def test_risks_follow_the_desired_change() -> None:
    control, treatment = arm(4000, 10.0, 3.0), arm(4000, 10.1, 3.0)
    up = bayes(control, treatment, desired_change="INCREASE")
    down = bayes(control, treatment, desired_change="DECREASE")
    assert up.risk_ship == pytest.approx(positive_part_mean(-up.mean, up.sd))
    assert up.risk_keep == pytest.approx(positive_part_mean(up.mean, up.sd))
    assert (down.risk_ship, down.risk_keep) == (up.risk_keep, up.risk_ship)
    assert down.chance_to_beat_control == pytest.approx(1.0 - up.chance_to_beat_control)
    # The loss of a decision minus that of the other is the posterior mean against it.
    assert up.risk_keep - up.risk_ship == pytest.approx(up.mean, rel=1e-9)


@pytest.mark.parametrize("treatment_mean", [10.1, 10.3])
def test_monte_carlo_over_the_sampling_distribution(treatment_mean: float) -> None:
    # The normal posterior rests on the delta method; sample the two means themselves and
    # compare. Loose tolerance: 400 000 draws give a Monte Carlo sd below 0.001 on each
    # probability, and the delta method's own error is of order (se / mean)^2 here. Risks are
    # compared only where they are not a far-tail event (> 1e-4): beyond three standard errors
    # the ratio of means is visibly skewed and no normal approximation matches it to 5%.
    rng = np.random.default_rng(2024)
    control, treatment = arm(5000, 10.0, 5.0), arm(5000, treatment_mean, 5.0)
    result = bayes(control, treatment)
    draws = 400_000
    mean_c = rng.normal(control.mean, math.sqrt(control.variance / control.n), draws)
    mean_t = rng.normal(treatment.mean, math.sqrt(treatment.variance / treatment.n), draws)
    lift = mean_t / mean_c - 1.0
    assert result.chance_to_beat_control == pytest.approx(np.mean(lift > 0), abs=0.01)
    assert result.p_above == pytest.approx(np.mean(lift >= 0.03), abs=0.01)
    assert result.p_below == pytest.approx(np.mean(lift <= -0.03), abs=0.01)
    assert result.p_within == pytest.approx(np.mean(np.abs(lift) < 0.03), abs=0.01)
    for risk, simulated in [
        (result.risk_ship, float(np.mean(np.maximum(0.0, -lift)))),
        (result.risk_keep, float(np.mean(np.maximum(0.0, lift)))),
    ]:
        if simulated > 1e-4:
            assert risk == pytest.approx(simulated, rel=0.05)


def test_proper_prior_is_precision_weighted() -> None:
    control, treatment = arm(2000, 10.0, 4.0), arm(2000, 10.5, 4.0)
    lift, variance = lift_and_variance(control, treatment)
    prior = NormalPrior(mean=0.0, variance=0.01**2)
    result = bayes(control, treatment, prior=prior)
    precision = 1 / prior.variance + 1 / variance
    assert result.sd == pytest.approx(math.sqrt(1 / precision), rel=1e-12)
    expected = (prior.mean / prior.variance + lift / variance) / precision
    assert result.mean == pytest.approx(expected, rel=1e-12)
    assert 0.0 < result.mean < lift
    assert posterior(lift, variance, NormalPrior(0.0, 1e12))[0] == pytest.approx(lift)
    assert posterior(lift, variance, NormalPrior(0.2, 1e-12))[0] == pytest.approx(0.2)
    with pytest.raises(ValueError):
        NormalPrior(0.0, 0.0)


@pytest.mark.parametrize(
    ("treatment_mean", "change", "verdict"),
    [
        (10.8, DesiredChange.INCREASE, Verdict.BETTER),
        (9.2, DesiredChange.INCREASE, Verdict.WORSE),
        (10.1, DesiredChange.INCREASE, Verdict.INCONCLUSIVE),
        (9.2, DesiredChange.DECREASE, Verdict.BETTER),
        (10.8, DesiredChange.DECREASE, Verdict.WORSE),
    ],
)
def test_verdict_at_ninety_percent(
    treatment_mean: float, change: DesiredChange, verdict: Verdict
) -> None:
    result = bayes(arm(5000, 10.0, 3.0), arm(5000, treatment_mean, 3.0), desired_change=change)
    assert result.verdict is verdict
    good = result.p_above if change is DesiredChange.INCREASE else result.p_below
    bad = result.p_below if change is DesiredChange.INCREASE else result.p_above
    assert (good >= 0.9) == (verdict is Verdict.BETTER)
    assert (bad >= 0.9) == (verdict is Verdict.WORSE)


def test_thin_data_is_uninformative() -> None:
    assert bayes(Moments(1, 3.0, 0.0), arm(10, 3.0, 1.0)).reason is Reason.NOT_ENOUGH_DATA
    assert bayes(arm(10, 0.0, 1.0), arm(10, 3.0, 1.0)).reason is Reason.ZERO_CONTROL_MEAN
    flat = bayes(Moments(3, 2.0, 0.0), Moments(3, 2.0, 0.0))
    assert flat.reason is Reason.ZERO_VARIANCE
    assert flat.verdict is Verdict.INCONCLUSIVE
    assert flat.chance_to_beat_control == 0.5
