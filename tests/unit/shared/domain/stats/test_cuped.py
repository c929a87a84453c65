"""CUPED from CoMoments against the same estimator on raw arrays, against OLS, and its
variance reduction against 1 - rho^2."""

from __future__ import annotations

from functools import reduce

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shared.domain.stats.comoments import CoMoments
from shared.domain.stats.cuped import cuped, pooled_theta
from shared.domain.stats.moments import Moments
from shared.domain.stats.vocabulary import Reason
from shared.domain.stats.welch import welch

value = st.integers(min_value=-100_000, max_value=100_000).map(lambda i: i / 1000)
arm = st.lists(st.tuples(value, value), min_size=2, max_size=100)


def comoments(x: np.ndarray, y: np.ndarray) -> CoMoments:
    return reduce(
        lambda c, p: c.push(float(p[0]), float(p[1])), zip(x, y, strict=True), CoMoments()
    )


def split(pairs: list[tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


def raw_cuped(arms: list[tuple[np.ndarray, np.ndarray]]) -> tuple[float, list[np.ndarray]]:
    """The estimator on raw arrays: theta pooled within arms, Y - theta (X - grand mean X)."""
    cxy = sum(((x - x.mean()) * (y - y.mean())).sum() for x, y in arms)
    m2x = sum(((x - x.mean()) ** 2).sum() for x, _ in arms)
    theta = cxy / m2x
    grand = np.concatenate([x for x, _ in arms]).mean()
    return float(theta), [y - theta * (x - grand) for x, y in arms]


@settings(max_examples=60, deadline=None)
@given(arm, arm)
def test_matches_the_estimator_on_raw_arrays(
    control: list[tuple[float, float]], treatment: list[tuple[float, float]]
) -> None:
    arms = [split(control), split(treatment)]
    m2x = sum(((x - x.mean()) ** 2).sum() for x, _ in arms)
    # A covariate that barely varies makes theta (and any reference) rounding noise.
    assume(m2x > 1e-3)
    result = cuped([comoments(x, y) for x, y in arms])
    theta, adjusted = raw_cuped(arms)
    scale = 1.0 + max(float(np.abs(y).max()) for _, y in arms)
    assert result.reason is None
    assert result.theta == pytest.approx(theta, rel=1e-9, abs=1e-9 * scale)
    for moments, y_adj in zip(result.adjusted, adjusted, strict=True):
        assert moments.n == y_adj.size
        assert moments.mean == pytest.approx(y_adj.mean(), rel=1e-9, abs=1e-9 * scale)
        # M2 of Y_adj comes from M2_y - 2 theta C_xy + theta^2 M2_x, a difference of sums that
        # may nearly cancel; its rounding scales with the raw sums, hence the absolute floor.
        floor = 1e-9 * (scale**2 + theta**2 * m2x) * y_adj.size
        assert moments.m2 == pytest.approx(((y_adj - y_adj.mean()) ** 2).sum(), rel=1e-9, abs=floor)


@settings(max_examples=40, deadline=None)
@given(arm, arm)
def test_effect_equals_the_ols_treatment_coefficient(
    control: list[tuple[float, float]], treatment: list[tuple[float, float]]
) -> None:
    (xc, yc), (xt, yt) = split(control), split(treatment)
    m2x = ((xc - xc.mean()) ** 2).sum() + ((xt - xt.mean()) ** 2).sum()
    assume(m2x > 1.0)
    result = cuped([comoments(xc, yc), comoments(xt, yt)])
    effect = result.adjusted[1].mean - result.adjusted[0].mean

    x = np.concatenate([xc, xt])
    y = np.concatenate([yc, yt])
    t = np.concatenate([np.zeros(xc.size), np.ones(xt.size)])
    design = np.column_stack([np.ones_like(x), t, x - x.mean()])
    fit = sm.OLS(y, design).fit()
    # Within-arm pooled theta is exactly the OLS slope on X given arm indicators (the
    # Frisch-Waugh-Lovell theorem), so the two estimators coincide algebraically; what is left
    # is rounding, amplified by the design's condition number in the least-squares solve.
    # 1e-9 of the scale of Y, times that condition number, bounds it.
    tolerance = 1e-9 * (1.0 + float(np.abs(y).max())) * float(np.linalg.cond(design))
    assert effect == pytest.approx(fit.params[1], abs=tolerance)
    assert result.theta == pytest.approx(fit.params[2], abs=tolerance)


@pytest.mark.parametrize("rho", [0.3, 0.6, 0.9])
def test_variance_reduction_is_one_minus_rho_squared(rho: float) -> None:
    rng = np.random.default_rng(int(rho * 100))
    n = 20_000
    arms = []
    for effect in (0.0, 0.2):
        x = rng.normal(5.0, 2.0, n)
        noise = rng.normal(0.0, 2.0, n)
        y = 10.0 + effect + rho * (x - 5.0) + np.sqrt(1 - rho**2) * noise
        arms.append(comoments(x, y))
    result = cuped(arms)
    raw = welch(arms[0].y, arms[1].y)
    adjusted = welch(result.adjusted[0], result.adjusted[1])
    print(f"\nCUPED rho={rho}: variance reduction {result.variance_reduction:.4f}")
    # With 40 000 pairs the sample rho^2 lies within about 0.01 of the true one.
    assert result.variance_reduction == pytest.approx(rho**2, abs=0.015)
    assert (adjusted.absolute.se / raw.absolute.se) ** 2 == pytest.approx(1 - rho**2, abs=0.015)
    assert adjusted.absolute.estimate == pytest.approx(0.2, abs=4 * adjusted.absolute.se)


def test_without_covariate_variance_nothing_is_adjusted() -> None:
    control = comoments(np.array([1.0, 1.0, 1.0]), np.array([2.0, 3.0, 4.0]))
    treatment = comoments(np.array([1.0, 1.0]), np.array([5.0, 6.0]))
    result = cuped([control, treatment])
    assert result.reason is Reason.ZERO_COVARIATE_VARIANCE
    assert result.theta == 0.0
    assert result.adjusted == (control.y, treatment.y)
    assert pooled_theta([control, treatment]) == 0.0


def test_empty_arms_report_not_enough_data() -> None:
    result = cuped([CoMoments(), CoMoments()])
    assert result.reason is Reason.NOT_ENOUGH_DATA
    assert result.adjusted == (Moments(), Moments())


def test_adjusted_means_are_centred_on_the_pooled_covariate_mean() -> None:
    control = comoments(np.array([0.0, 2.0]), np.array([1.0, 3.0]))
    treatment = comoments(np.array([4.0, 6.0]), np.array([5.0, 7.0]))
    result = cuped([control, treatment])
    # Within each arm y = x + 1, so theta is 1, and each arm is moved to the grand mean x = 3.
    assert result.theta == pytest.approx(1.0)
    assert result.mean_x == pytest.approx(3.0)
    assert [m.mean for m in result.adjusted] == pytest.approx([4.0, 4.0])
    assert [m.m2 for m in result.adjusted] == pytest.approx([0.0, 0.0])
