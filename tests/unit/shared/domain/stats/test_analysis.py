"""The analysis' switches: the reported scale, CUPED on or off, one-sided under either test."""

from __future__ import annotations

from functools import reduce

import numpy as np
import pytest

from shared.domain.stats.analysis import AnalysisSettings, MetricInput, analyse
from shared.domain.stats.comoments import CoMoments
from shared.domain.stats.sequential_one_sided import one_sided_msprt_effect, one_sided_rho2
from shared.domain.stats.vocabulary import Alternative, AnalysisMethod, EffectScale
from shared.domain.stats.welch import relative_variance


def arm(x: np.ndarray, y: np.ndarray) -> CoMoments:
    return reduce(
        lambda c, p: c.push(float(p[0]), float(p[1])), zip(x, y, strict=True), CoMoments()
    )


@pytest.fixture(scope="module")
def metric() -> MetricInput:
    rng = np.random.default_rng(3)
    looks: dict[str, list[CoMoments]] = {}
    for name, lift in (("c", 0.0), ("t", 0.6)):
        x = rng.normal(10, 2, 400)
        y = x * 0.8 + rng.normal(2 + lift, 1, 400)
        looks[name] = [arm(x[:k], y[:k]) for k in (100, 200, 400)]
    return MetricInput("m", "INCREASE", looks)


@pytest.mark.parametrize("method", list(AnalysisMethod))
def test_the_reported_p_value_is_the_reported_scale(
    metric: MetricInput, method: AnalysisMethod
) -> None:
    for scale in EffectScale:
        settings = AnalysisSettings(method=method, scale=scale, correction="none")
        look = analyse([metric], "c", ["c", "t"], settings).comparisons[0].looks[-1]
        chosen = look.relative if scale is EffectScale.RELATIVE else look.absolute
        assert look.effect is chosen
        assert look.p_value == look.adjusted_p_value == chosen.p_value


def test_cuped_switch(metric: MetricInput) -> None:
    on = analyse([metric], "c", ["c", "t"], AnalysisSettings()).comparisons[0].looks[-1]
    off = analyse([metric], "c", ["c", "t"], AnalysisSettings(cuped=False)).comparisons[0].looks[-1]
    assert on.cuped_theta is not None and on.variance_reduction > 0.5
    assert off.cuped_theta is None and off.control == off.raw_control
    assert on.raw_control == off.raw_control
    # The adjusted effect is the ratio of the adjusted means, and it is narrower.
    assert on.relative.estimate == pytest.approx(on.treatment.mean / on.control.mean - 1)
    assert on.relative.se < off.relative.se


@pytest.mark.parametrize("method", list(AnalysisMethod))
def test_one_sided_is_honoured_by_both_tests(metric: MetricInput, method: AnalysisMethod) -> None:
    two = analyse([metric], "c", ["c", "t"], AnalysisSettings(method=method))
    one = analyse([metric], "c", ["c", "t"], AnalysisSettings(method=method, one_sided=True))
    a, b = two.comparisons[0].looks[-1], one.comparisons[0].looks[-1]
    assert b.effect.interval.high == float("inf") and a.effect.interval.high < float("inf")
    if method is AnalysisMethod.TTEST:
        assert b.p_value == pytest.approx(a.p_value / 2, rel=1e-9)
        return
    # The one-sided mixture, tuned at 2 alpha, on the lift and its delta-method variance.
    firsts = [one.comparisons[0].looks[k] for k in range(3)]
    expected = []
    for look in firsts:
        v = relative_variance(look.control, look.treatment)
        n = look.control.n + look.treatment.n
        p, _ = one_sided_msprt_effect(
            look.relative.estimate, v, one_sided_rho2(0.05), n, 0.05, Alternative.GREATER
        )
        expected.append(p)
    assert b.p_value == pytest.approx(min(expected), rel=1e-12)
