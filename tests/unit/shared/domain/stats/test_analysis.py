"""The analysis' switches: the reported scale, CUPED on or off, one-sided under either test;
its dispatch by metric type (binary against statsmodels, ratio against the delta method on raw
data), roles (guardrails out of the family), gates and goals."""

from __future__ import annotations

import math
from dataclasses import replace
from functools import reduce

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats import proportion

from shared.domain.stats.analysis import AnalysisSettings, MetricInput, analyse
from shared.domain.stats.comoments import CoMoments
from shared.domain.stats.ratio import ratio_cuped
from shared.domain.stats.sequential_one_sided import one_sided_msprt_effect, one_sided_rho2
from shared.domain.stats.sums import PowerSums
from shared.domain.stats.vector_sums import CoMatrix, VectorSums
from shared.domain.stats.vocabulary import (
    Alternative,
    AnalysisMethod,
    EffectScale,
    MetricRole,
    MetricType,
    Reason,
)
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


# -- metric types, roles, gates (issue 18) ---------------------------------------------------


def exact_pairs(x: np.ndarray, y: np.ndarray) -> CoMoments:
    total = PowerSums()
    for a, b in zip(x, y, strict=True):
        total = total + PowerSums.point(float(a), float(b))
    return total.comoments()


def exact_vectors(raw: np.ndarray) -> CoMatrix:
    total = VectorSums.zero(4)
    for row in raw:
        total = total + VectorSums.point([float(v) for v in row])
    return total.comatrix()


def conversions(rng: np.random.Generator, n: int, p: float) -> tuple[np.ndarray, np.ndarray]:
    """0/1 outcomes with a constant covariate (no pre-exposure information)."""
    return np.zeros(n), (rng.random(n) < p).astype(float)


def binary_metric(name: str = "signup", role: MetricRole = MetricRole.SECONDARY) -> MetricInput:
    rng = np.random.default_rng(21)
    c, t = conversions(rng, 900, 0.10), conversions(rng, 950, 0.14)
    return MetricInput(
        name,
        "INCREASE",
        {"c": [exact_pairs(*c)], "t": [exact_pairs(*t)]},
        MetricType.UNIQUE_CONVERSIONS,
        role,
    )


def test_binary_metrics_are_statsmodels_wald_test_at_a_fixed_horizon() -> None:
    settings = AnalysisSettings(method=AnalysisMethod.TTEST, correction="none")
    look = analyse([binary_metric()], "c", ["c", "t"], settings).comparisons[0].looks[-1]
    n_c, k_c = look.raw_control.n, round(look.raw_control.mean * look.raw_control.n)
    n_t, k_t = look.raw_treatment.n, round(look.raw_treatment.mean * look.raw_treatment.n)
    want = proportion.test_proportions_2indep(k_t, n_t, k_c, n_c, method="wald", compare="diff")
    low, high = proportion.confint_proportions_2indep(
        k_t, n_t, k_c, n_c, method="wald", compare="diff"
    )
    assert look.cuped_theta is None  # the covariate does not vary: nothing to adjust with
    assert look.absolute.p_value == pytest.approx(float(want.pvalue), rel=1e-12)
    assert (look.absolute.interval.low, look.absolute.interval.high) == pytest.approx(
        (float(low), float(high)), rel=1e-12
    )
    # The reported (relative) scale: the lift on Bernoulli variances with the normal quantile.
    p_c, p_t = k_c / n_c, k_t / n_t
    v = p_t * (1 - p_t) / (n_t * p_c**2) + p_t**2 * p_c * (1 - p_c) / (n_c * p_c**4)
    z = (p_t / p_c - 1) / math.sqrt(v)
    assert look.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)


def test_binary_metrics_use_the_bernoulli_variance_in_the_sequential_test() -> None:
    look = analyse([binary_metric()], "c", ["c", "t"], AnalysisSettings()).comparisons[0].looks[-1]
    p_c, p_t = look.raw_control.mean, look.raw_treatment.mean
    v = p_t * (1 - p_t) / look.raw_treatment.n + p_c * (1 - p_c) / look.raw_control.n
    assert look.absolute.se == pytest.approx(math.sqrt(v), rel=1e-12)


def ratio_entities(rng: np.random.Generator, n: int, lift: float) -> np.ndarray:
    activity = rng.gamma(2.0, 1.5, n)
    level = rng.normal(10.0, 3.0, n)
    d, d_pre = rng.poisson(activity), rng.poisson(activity)
    m = d * (level + lift) + np.sqrt(d) * rng.normal(0.0, 2.0, n)
    m_pre = d_pre * level + np.sqrt(d_pre) * rng.normal(0.0, 2.0, n)
    return np.column_stack([m, d, m_pre, d_pre]).astype(np.float64)


@pytest.fixture(scope="module")
def ratio_data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2018)
    return {"c": ratio_entities(rng, 600, 0.0), "t": ratio_entities(rng, 650, 0.8)}


def test_ratio_metrics_are_welch_on_the_delta_method_variance(
    ratio_data: dict[str, np.ndarray],
) -> None:
    metric = MetricInput(
        "basket",
        "INCREASE",
        {arm: [exact_vectors(raw)] for arm, raw in ratio_data.items()},
        MetricType.AVERAGE,
    )
    settings = AnalysisSettings(
        method=AnalysisMethod.TTEST, correction="none", cuped=False, scale=EffectScale.ABSOLUTE
    )
    look = analyse([metric], "c", ["c", "t"], settings).comparisons[0].looks[-1]

    def delta(raw: np.ndarray) -> tuple[float, float]:
        m, d = raw[:, 0], raw[:, 1]
        cov = np.cov(m, d, ddof=1)
        r = m.mean() / d.mean()
        return r, (cov[0, 0] - 2 * r * cov[0, 1] + r * r * cov[1, 1]) / d.mean() ** 2

    (r_c, v_c), (r_t, v_t) = delta(ratio_data["c"]), delta(ratio_data["t"])
    a, b = v_t / 650, v_c / 600
    dof = (a + b) ** 2 / (a * a / 649 + b * b / 599)
    t = (r_t - r_c) / math.sqrt(a + b)
    assert look.raw_control.mean == pytest.approx(r_c, rel=1e-12)
    assert look.absolute.estimate == pytest.approx(r_t - r_c, rel=1e-9)
    assert look.absolute.se == pytest.approx(math.sqrt(a + b), rel=1e-9)
    assert look.p_value == pytest.approx(2 * stats.t.sf(abs(t), dof), rel=1e-9)


def test_ratio_metrics_take_cuped_for_ratios(ratio_data: dict[str, np.ndarray]) -> None:
    looks = {arm: [exact_vectors(raw)] for arm, raw in ratio_data.items()}
    metric = MetricInput("basket", "INCREASE", looks, MetricType.FORMULA)
    on = analyse([metric], "c", ["c", "t"], AnalysisSettings()).comparisons[0]
    off = analyse([metric], "c", ["c", "t"], AnalysisSettings(cuped=False)).comparisons[0]
    want = ratio_cuped([looks["c"][0], looks["t"][0]])
    a, b = on.looks[-1], off.looks[-1]
    assert a.cuped_theta == want.theta and a.variance_reduction == want.variance_reduction
    assert (a.control, a.treatment) == want.adjusted
    assert a.raw_control == b.raw_control == b.control
    assert a.relative.se < b.relative.se
    # The balance check reads the pre-exposure ratio of each arm.
    assert on.balance.reason is None and not on.balance.imbalanced


def test_a_ratio_over_nothing_is_a_reason_not_an_error(ratio_data: dict[str, np.ndarray]) -> None:
    empty = np.zeros((120, 4))
    metric = MetricInput(
        "basket",
        "INCREASE",
        {"c": [exact_vectors(empty)], "t": [exact_vectors(ratio_data["t"])]},
        MetricType.AVERAGE,
    )
    for method in AnalysisMethod:
        comparison = analyse(
            [metric], "c", ["c", "t"], AnalysisSettings(method=method)
        ).comparisons[0]
        look = comparison.looks[-1]
        assert (
            look.reason is Reason.ZERO_DENOMINATOR and look.effect.reason is Reason.ZERO_DENOMINATOR
        )
        assert look.p_value == 1.0
        assert comparison.balance.reason is Reason.ZERO_DENOMINATOR


def test_guardrails_stay_out_of_the_family_and_flag_degradation(metric: MetricInput) -> None:
    """Bonferroni over the two non-guardrail metrics only; the guardrail keeps its raw p."""
    secondary = replace(metric, name="second")
    # The treatment raises the guardrail, whose desired change is DECREASE: it degraded.
    latency = replace(metric, name="latency", desired_change="DECREASE", role=MetricRole.GUARDRAIL)
    # The same data read as a metric that should rise: no degradation.
    healthy = replace(metric, name="revenue", role=MetricRole.GUARDRAIL)
    settings = AnalysisSettings(correction="bonferroni")
    result = analyse([metric, secondary, latency, healthy], "c", ["c", "t"], settings)
    by_name = {c.metric: c for c in result.comparisons}
    for name in ("m", "second"):
        look = by_name[name].looks[-1]
        assert look.adjusted_p_value == pytest.approx(min(1.0, 2 * look.p_value))
        assert not by_name[name].degraded
    for name in ("latency", "revenue"):
        look = by_name[name].looks[-1]
        assert look.adjusted_p_value == look.p_value < 0.05
        assert by_name[name].role is MetricRole.GUARDRAIL
    assert by_name["latency"].degraded and not by_name["revenue"].degraded


def test_a_one_sided_guardrail_looks_the_undesired_way(metric: MetricInput) -> None:
    latency = replace(metric, name="latency", desired_change="DECREASE", role=MetricRole.GUARDRAIL)
    settings = AnalysisSettings(method=AnalysisMethod.TTEST, one_sided=True)
    guard = analyse([latency], "c", ["c", "t"], settings).comparisons[0]
    two = analyse([latency], "c", ["c", "t"], replace(settings, one_sided=False)).comparisons[0]
    # DECREASE desired: the guardrail tests "greater", which the raised metric meets.
    assert guard.looks[-1].effect.interval.high == math.inf
    assert guard.looks[-1].p_value == pytest.approx(two.looks[-1].p_value / 2, rel=1e-9)
    assert guard.degraded


def test_gates_and_goals_are_reported_per_metric(metric: MetricInput) -> None:
    rng = np.random.default_rng(5)
    # The fixture's looks are at 100, 200 and 400 entities per arm.
    c, t = conversions(rng, 400, 0.03), conversions(rng, 400, 0.2)
    thin = MetricInput(
        "rare",
        "INCREASE",
        {
            "c": [exact_pairs(c[0][:k], c[1][:k]) for k in (100, 200, 400)],
            "t": [exact_pairs(t[0][:k], t[1][:k]) for k in (100, 200, 400)],
        },
        MetricType.RETENTION,
        MetricRole.PRIMARY,
        goal=0.15,
    )
    result = analyse([metric, thin], "c", ["c", "t"], AnalysisSettings())
    assert result.gates["m"].passed  # 400 entities per arm, no conversions asked for
    gate = result.gates["rare"]
    assert not gate.passed and "'c' has" in gate.message and "'t'" not in gate.message
    (rare,) = [c for c in result.comparisons if c.metric == "rare"]
    assert (rare.metric_type, rare.role, rare.goal) == (
        MetricType.RETENTION,
        MetricRole.PRIMARY,
        0.15,
    )


def test_statistics_that_do_not_fit_the_type_are_refused(metric: MetricInput) -> None:
    with pytest.raises(ValueError, match="needs CoMatrix"):
        analyse(
            [replace(metric, metric_type=MetricType.AVERAGE)], "c", ["c", "t"], AnalysisSettings()
        )
    matrices = {arm: [VectorSums.point([1.0, 2.0, 3.0, 4.0]).comatrix()] for arm in ("c", "t")}
    bad = MetricInput("m", "INCREASE", matrices, MetricType.FUNNEL)
    with pytest.raises(ValueError, match="needs CoMoments"):
        analyse([bad], "c", ["c", "t"], AnalysisSettings())
