"""Statistics -> Evidently's GetExperimentResults shapes, and the full analysis JSON.

The numbers come from ``shared.domain.stats.analysis``; this module only picks
looks, feeds the cumulative cells in, and renders.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from services.results import health
from shared import serialization
from shared.domain.cells import (
    ASSIGNED,
    CROSSED,
    OVER,
    cumulative,
    split_binned,
)
from shared.domain.events import AnalysisConfig, MetricGoal
from shared.domain.experiment import Experiment
from shared.domain.metrics import roles
from shared.domain.rollup import Rollup
from shared.domain.stats import power as fixed_power
from shared.domain.stats import sequential_power
from shared.domain.stats.analysis import (
    Analysis,
    AnalysisSettings,
    Comparison,
    Look,
    MetricInput,
    analyse,
)
from shared.domain.stats.badges import badges, goal_met, good
from shared.domain.stats.balance import Balance
from shared.domain.stats.bayes import NormalPrior
from shared.domain.stats.capping import Cap, cap_of, capped
from shared.domain.stats.comoments import CoMoments
from shared.domain.stats.gates import Gate
from shared.domain.stats.sums import PowerSums
from shared.domain.stats.vector_sums import CoMatrix, VectorSums
from shared.domain.stats.vocabulary import (
    Alternative,
    AnalysisMethod,
    CapKind,
    Effect,
    EffectScale,
    FormulaOperator,
    Interval,
    MetricRole,
    MetricType,
    PriorKind,
)
from shared.errors import ValidationException

NOT_ENOUGH = "Not enough events to generate results"
MAX_LOOKS = 1000
# Largest finite double: JSON has no infinity, and botocore parses these as floats.
_BIG = 1.7976931348623157e308


def finite(value: float) -> float:
    if math.isnan(value):
        return 0.0
    return max(-_BIG, min(_BIG, value))


@dataclass(frozen=True, slots=True)
class Looks:
    times: tuple[float, ...]  # epoch seconds, the end of each period
    series: Mapping[tuple[str, str], tuple[CoMoments, ...]]  # (metric, treatment) -> per look
    conversions: Mapping[tuple[str, str], tuple[int, ...]]
    # Ratio metrics: the (m, d, m_pre, d_pre) co-moments per look; None where no cell held one.
    matrices: Mapping[tuple[str, str], tuple[CoMatrix | None, ...]] = field(default_factory=dict)
    # Percentile-capped metrics: the cap at each look, and each arm's capped co-moments and
    # number of entities the cap moved, per look.
    caps: Mapping[str, tuple[Cap | None, ...]] = field(default_factory=dict)
    capped: Mapping[tuple[str, str], tuple[CoMoments, ...]] = field(default_factory=dict)
    touched: Mapping[tuple[str, str], tuple[int, ...]] = field(default_factory=dict)


def look_times(start: float, end: float, period: int) -> tuple[float, ...]:
    if end <= start:
        return (end,)
    count = math.ceil((end - start) / period)
    if count > MAX_LOOKS:
        raise ValidationException(
            f"period {period}s gives {count} looks between startTime and endTime; at most"
            f" {MAX_LOOKS}: choose a longer period",
            field="period",
        )
    return tuple(min(start + k * period, end) for k in range(1, count + 1))


def collect(
    rollups: Mapping[tuple[str, str], Rollup],
    metrics: Sequence[str],
    treatments: Sequence[str],
    times: Sequence[float],
) -> Looks:
    """Each (metric, treatment)'s cumulative statistics at each look.

    A look at time T counts every bucket that began before T; each costs a few merges of
    rolled-up cells (``shared/domain/rollup.py``), however many cells or events there are.
    """
    nothing = cumulative(())
    series: dict[tuple[str, str], tuple[CoMoments, ...]] = {}
    conversions: dict[tuple[str, str], tuple[int, ...]] = {}
    matrices: dict[tuple[str, str], tuple[CoMatrix | None, ...]] = {}
    for arm in ((m, t) for m in metrics for t in treatments):
        found = rollups.get(arm)
        at = found.series(times) if found is not None else [nothing] * len(times)
        series[arm] = tuple(c.comoments for c in at)
        conversions[arm] = tuple(c.conversions for c in at)
        if any(c.matrix is not None for c in at):
            matrices[arm] = tuple(c.matrix for c in at)
    return Looks(tuple(times), series, conversions, matrices)


def with_caps(
    looks: Looks,
    rollups: Mapping[tuple[str, str], Rollup],
    percentiles: Mapping[str, float],
    treatments: Sequence[str],
) -> Looks:
    """The looks with each percentile-capped metric's cap and capped co-moments
    (``stats/capping.py``), from the rolled-up cells of its bins: per look, a few merges per
    bin, never a pass over events."""
    if not percentiles:
        return looks
    per_bin: dict[tuple[str, str, int], list[PowerSums]] = {}
    for (name, treatment), rollup in rollups.items():
        found = split_binned(name)
        if found is not None and found[0] in percentiles:
            per_bin[(found[0], treatment, found[1])] = [rollup.cell_at(t).sums for t in looks.times]
    caps: dict[str, tuple[Cap | None, ...]] = {}
    capped_series: dict[tuple[str, str], tuple[CoMoments, ...]] = {}
    touched: dict[tuple[str, str], tuple[int, ...]] = {}
    for metric, percentile in percentiles.items():
        mine = {k: v for k, v in per_bin.items() if k[0] == metric}
        metric_caps: list[Cap | None] = []
        arms: dict[str, list[CoMoments]] = {t: [] for t in treatments}
        moved: dict[str, list[int]] = {t: [] for t in treatments}
        for i in range(len(looks.times)):
            counts: dict[int, int] = {}
            for (_, _, key), sums in mine.items():
                counts[key] = counts.get(key, 0) + sums[i].n
            cap = cap_of(counts, percentile)
            metric_caps.append(cap)
            for t in treatments:
                if cap is None:
                    arms[t].append(CoMoments())
                    moved[t].append(0)
                    continue
                bins = {key: sums[i] for (_, arm, key), sums in mine.items() if arm == t}
                total, count = capped(bins, cap)
                arms[t].append(total.comoments())
                moved[t].append(count)
        caps[metric] = tuple(metric_caps)
        for t in treatments:
            capped_series[(metric, t)] = tuple(arms[t])
            touched[(metric, t)] = tuple(moved[t])
    return replace(looks, caps=caps, capped=capped_series, touched=touched)


# GrowthBook's proper prior on the relative lift: Normal(0, 0.3^2).
DEFAULT_PRIOR = NormalPrior(0.0, 0.09)


def prior_of(a: AnalysisConfig) -> NormalPrior | None:
    """The Bayesian report's prior: flat unless ``prior`` is "proper" or, as before that
    switch existed, both of its parameters are given."""
    both = a.prior_mean is not None and a.prior_variance is not None
    if a.prior == PriorKind.FLAT or (a.prior is None and not both):
        return None
    return NormalPrior(
        DEFAULT_PRIOR.mean if a.prior_mean is None else a.prior_mean,
        DEFAULT_PRIOR.variance if a.prior_variance is None else a.prior_variance,
    )


def settings_of(experiment: Experiment, gate: GateSettings | None = None) -> AnalysisSettings:
    a = experiment.config.analysis
    gate = gate or GateSettings()
    return AnalysisSettings(
        method=a.method,
        confidence=a.confidence_level,
        correction=a.correction,
        one_sided=a.one_sided,
        n_star=float(a.tuning_sample_size),
        prior=prior_of(a),
        scale=EffectScale(a.effect),
        cuped=a.cuped,
        min_entities=gate.min_entities,
        min_conversions=gate.min_conversions,
    )


@dataclass(frozen=True, slots=True)
class GateSettings:
    """The service's minimum-data gate (Amplitude's 100 entities, and 25 conversions for a
    binary metric, unless configured otherwise)."""

    min_entities: int = 100
    min_conversions: int = 25


def is_ratio(goal: MetricGoal) -> bool:
    """Whether the metric's cells keep ratio 4-vectors (``cells.MetricPlan.ratio``)."""
    return goal.metric_type is MetricType.AVERAGE or (
        goal.metric_type is MetricType.FORMULA
        and goal.formula is not None
        and goal.formula.operator is FormulaOperator.RATIO
    )


_NO_RATIO = VectorSums.zero(4).comatrix()


def _arm_looks(looks: Looks, goal: MetricGoal, treatment: str) -> Sequence[CoMoments | CoMatrix]:
    metric = goal.definition.name
    if (metric, treatment) in looks.capped:
        return looks.capped[(metric, treatment)]
    if not is_ratio(goal):
        return looks.series[(metric, treatment)]
    found = looks.matrices.get((metric, treatment))
    if found is None:
        return tuple(_NO_RATIO for _ in looks.times)
    return tuple(_NO_RATIO if m is None else m for m in found)


def mean_series(looks: Looks, metric: str, treatment: str) -> list[float]:
    """The arm's mean at each look: a ratio metric's is the ratio of its sums' means."""
    found = looks.matrices.get((metric, treatment))
    if found is None:
        return [m.mean_y for m in looks.series[(metric, treatment)]]
    return [m.means[0] / m.means[1] if m is not None and m.n and m.means[1] else 0.0 for m in found]


def exposed_count(looks: Looks, goal: MetricGoal, treatment: str) -> int:
    """Entities exposed by the last look: every exposed entity has a point in every metric."""
    last = _arm_looks(looks, goal, treatment)[-1]
    return last.n


def run(
    experiment: Experiment,
    looks: Looks,
    metrics: Sequence[str],
    gate: GateSettings | None = None,
) -> Analysis:
    config = experiment.config
    goals = {g.definition.name: g for g in config.metric_goals}
    role_of = dict(
        zip(
            (g.definition.name for g in config.metric_goals),
            roles(config.metric_goals),
            strict=True,
        )
    )
    treatments = [t.name for t in config.treatments]
    inputs = [
        MetricInput(
            name=m,
            desired_change=goals[m].desired_change,
            looks={t: _arm_looks(looks, goals[m], t) for t in treatments},
            metric_type=goals[m].metric_type,
            role=role_of[m],
            goal=goals[m].goal,
        )
        for m in metrics
    ]
    weights = {t: float(w) for t, w in config.treatment_weights.items()}
    return analyse(
        inputs, config.control_treatment, treatments, settings_of(experiment, gate), weights
    )


def exposure_health(experiment: Experiment, looks: Looks) -> dict[str, Any]:
    """Assignment without exposure and multiple exposures (``health.py``)."""
    config = experiment.config
    treatments = [t.name for t in config.treatments]
    first = config.metric_goals[0]

    def last_n(name: str, t: str) -> int:
        series = looks.series.get((name, t))
        return series[-1].n if series else 0

    return health.exposure_checks(
        treatments,
        {t: last_n(ASSIGNED, t) for t in treatments},
        {t: exposed_count(looks, first, t) for t in treatments},
        {t: last_n(CROSSED, t) for t in treatments},
        config.exposure is not None,
    )


def cap_report(experiment: Experiment, looks: Looks) -> dict[str, dict[str, Any]]:
    """Per capped metric: the cap used at the last look and how many entities it moved, per
    treatment."""
    treatments = [t.name for t in experiment.config.treatments]
    out: dict[str, dict[str, Any]] = {}
    for g in experiment.config.metric_goals:
        metric, cap = g.definition.name, g.cap
        if cap is None:
            continue
        if cap.kind is CapKind.ABSOLUTE:
            out[metric] = {
                "kind": cap.kind.value,
                "value": cap.value,
                "touched": {t: looks.conversions[(metric + OVER, t)][-1] for t in treatments},
            }
            continue
        used = looks.caps.get(metric, (None,))[-1]
        out[metric] = {
            "kind": cap.kind.value,
            "percentile": cap.value,
            "value": None if used is None else finite(used.value),
            "touched": {t: looks.touched.get((metric, t), (0,))[-1] for t in treatments},
        }
    return out


def gate_content(gate: Gate | None) -> dict[str, Any]:
    if gate is None:
        return {"passed": True, "message": "no gate applies"}
    return {"passed": gate.passed, "message": gate.message}


def _interval(interval: Interval) -> list[float]:
    return [finite(interval.low), finite(interval.high)]


def _effect(effect: Effect) -> dict[str, Any]:
    """One scale's hypothesis: estimate, interval and the p-value of no effect (unadjusted)."""
    return {
        "estimate": finite(effect.estimate),
        "interval": _interval(effect.interval),
        "pValue": finite(effect.p_value),
    }


def _prior(prior: NormalPrior | None) -> dict[str, Any]:
    if prior is None:
        return {"kind": PriorKind.FLAT.value}
    return {"kind": PriorKind.PROPER.value, "mean": prior.mean, "variance": prior.variance}


def _means(look: Look) -> dict[str, Any]:
    """Raw and compared (CUPED-adjusted when CUPED applied) means: the reported relative
    effect is the ratio of the adjusted ones, minus one."""
    return {
        "control": {"mean": finite(look.raw_control.mean), "adjusted": finite(look.control.mean)},
        "treatment": {
            "mean": finite(look.raw_treatment.mean),
            "adjusted": finite(look.treatment.mean),
        },
    }


def bayes_content(
    comparison: Comparison,
    analysis: Analysis,
    exposure: Mapping[str, Any] | None = None,
    caps: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    b = comparison.bayes
    last = comparison.looks[-1]
    prior = analysis.settings.prior
    content: dict[str, Any] = {
        "metric": comparison.metric,
        "treatment": comparison.treatment,
        "control": analysis.control,
        "method": "normal approximation of the relative lift"
        + (
            " with a flat prior: the posterior is the z-test's sampling distribution"
            if prior is None
            else " with a proper normal prior (normal-normal update)"
        ),
        "prior": _prior(prior),
        "lift": {"mean": finite(b.mean), "sd": finite(b.sd), "interval": _interval(b.interval)},
        "chanceToBeatControl": finite(b.chance_to_beat_control),
        "expectedLoss": {"ship": finite(b.risk_ship), "keep": finite(b.risk_keep)},
        "probabilities": {
            "liftAtLeastPlus3Percent": finite(b.p_above),
            "liftAtMostMinus3Percent": finite(b.p_below),
            "liftWithin3Percent": finite(b.p_within),
        },
        "verdict": b.verdict.value,
        "effectScale": last.scale.value,
        "pValue": finite(last.p_value),
        "adjustedPValue": finite(last.adjusted_p_value),
        "means": _means(last),
        "cuped": {
            "enabled": analysis.settings.cuped,
            "theta": last.cuped_theta,
            "varianceReduction": finite(last.variance_reduction),
        },
    }
    if b.reason is not None:
        content["reason"] = b.reason.value
    if analysis.srm is not None:
        content["sampleRatioMismatch"] = {
            "pValue": finite(analysis.srm.p_value),
            "mismatch": analysis.srm.mismatch,
        }
    content["metricType"] = comparison.metric_type.value
    content["role"] = comparison.role.value
    if caps and comparison.metric in caps:
        content["cap"] = caps[comparison.metric]
    content["healthChecks"] = comparison_health(comparison, analysis, exposure)
    content["summary"] = summary_content(comparison, analysis)
    return content


def comparison_health(
    comparison: Comparison, analysis: Analysis, exposure: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Every health check that bears on one comparison, each with what it means."""
    checks: dict[str, Any] = {
        "preExposureBalance": balance_content(comparison.balance),
        "minimumData": gate_content(analysis.gates.get(comparison.metric)),
    }
    if analysis.srm is not None:
        checks["sampleRatioMismatch"] = {
            "pValue": finite(analysis.srm.p_value),
            "mismatch": analysis.srm.mismatch,
        }
    if exposure is not None:
        checks.update(exposure)
    return checks


def summary_content(comparison: Comparison, analysis: Analysis) -> dict[str, Any]:
    """Amplitude's badges for the comparison, so a console or a script shows them without
    recomputing (``stats/badges.py``)."""
    last = comparison.looks[-1]
    alpha = 1 - analysis.settings.confidence
    earned = badges(
        last.adjusted_p_value,
        alpha,
        last.absolute.estimate,
        mean=last.raw_treatment.mean,
        goal=comparison.goal,
    )
    out: dict[str, Any] = {
        "role": comparison.role.value,
        "badges": [b.value for b in earned],
        "desiredDirection": good(earned, comparison.bayes.desired_change),
    }
    if comparison.goal is not None:
        out["goal"] = comparison.goal
        out["goalMet"] = goal_met(earned, comparison.bayes.desired_change)
    if comparison.role is MetricRole.GUARDRAIL:
        out["degraded"] = comparison.degraded
    return out


def balance_content(balance: Balance) -> dict[str, Any]:
    """What the balance check found, and what it means, for a reader of the report."""
    if balance.reason is not None:
        meaning = "not tested: the pre-exposure covariate has too few entities or no spread"
    elif balance.imbalanced:
        meaning = (
            "the arms differed before exposure beyond chance: check the assignment (a"
            " segment, a bucketing change, an earlier experiment) before trusting results"
        )
    else:
        meaning = "the arms were alike before exposure, as randomisation makes them"
    return {
        "difference": finite(balance.difference),
        "pValue": finite(balance.p_value),
        "threshold": balance.threshold,
        "imbalanced": balance.imbalanced,
        "meaning": meaning,
        **({"reason": balance.reason.value} if balance.reason else {}),
    }


def evidently_results(
    analysis: Analysis,
    looks: Looks,
    metric: str,
    treatments: Sequence[str],
    result_stats: Sequence[str],
    report_names: Sequence[str],
    exposure: Mapping[str, Any] | None = None,
    caps: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    by_treatment = {c.treatment: c for c in analysis.comparisons if c.metric == metric}
    for treatment in treatments:
        if "BaseStat" in result_stats:
            results.append(
                {
                    "metricName": metric,
                    "treatmentName": treatment,
                    "resultStat": "Mean",
                    "values": [finite(v) for v in mean_series(looks, metric, treatment)],
                }
            )
        comparison = by_treatment.get(treatment)
        if comparison is None:
            continue  # the control has no effect against itself
        stats: list[tuple[str, list[float]]] = []
        if "TreatmentEffect" in result_stats:
            stats.append(("TreatmentEffect", [finite(k.effect.estimate) for k in comparison.looks]))
        if "ConfidenceInterval" in result_stats:
            stats.append(
                (
                    "ConfidenceIntervalLowerBound",
                    [finite(k.effect.interval.low) for k in comparison.looks],
                )
            )
            stats.append(
                (
                    "ConfidenceIntervalUpperBound",
                    [finite(k.effect.interval.high) for k in comparison.looks],
                )
            )
        if "PValue" in result_stats:
            stats.append(("PValue", [finite(k.adjusted_p_value) for k in comparison.looks]))
        for name, values in stats:
            results.append(
                {
                    "metricName": metric,
                    "treatmentName": treatment,
                    "resultStat": name,
                    "values": values,
                }
            )
    reports = []
    if "BayesianInference" in report_names:
        for treatment in treatments:
            comparison = by_treatment.get(treatment)
            if comparison is not None:
                reports.append(
                    {
                        "metricName": metric,
                        "treatmentName": treatment,
                        "reportName": "BayesianInference",
                        "content": serialization.dumps(
                            bayes_content(comparison, analysis, exposure, caps)
                        ).decode(),
                    }
                )
    return {"resultsData": results, "reports": reports, "timestamps": list(looks.times)}


def _power(
    settings: AnalysisSettings,
    desired_change: str,
    variance: float,
    n_per_arm: int,
    control_mean: float,
    mde: float,
    daily_entities: float | None,
    arms: int,
) -> dict[str, Any]:
    """Minimum detectable effect now, and the sample and run time a relative ``mde`` needs,
    for the test in use: the mSPRT's boundary under the sequential method (a wider one than
    the fixed-horizon z), the t-test's otherwise."""
    alpha = 1 - settings.confidence
    alternative = (
        Alternative.for_desired_change(desired_change)
        if settings.one_sided
        else Alternative.TWO_SIDED
    )
    sequential = settings.method == AnalysisMethod.SEQUENTIAL
    if sequential:
        detectable = sequential_power.minimum_detectable_effect(
            variance, n_per_arm, alpha=alpha, n_star=settings.n_star, alternative=alternative
        )
    else:
        detectable = fixed_power.minimum_detectable_effect(
            variance, n_per_arm, alpha=alpha, alternative=alternative
        )
    out: dict[str, Any] = {
        "method": settings.method,
        "minimumDetectableEffect": finite(detectable),
        "minimumDetectableRelativeEffect": finite(detectable / abs(control_mean))
        if control_mean
        else None,
    }
    absolute_mde = mde * abs(control_mean)
    if absolute_mde > 0:
        # A one-sided test only detects effects in the desired direction.
        effect = -absolute_mde if alternative is Alternative.LESS else absolute_mde
        if sequential:
            projected = sequential_power.plan(
                effect,
                variance,
                daily_entities=daily_entities,
                arms=arms,
                alpha=alpha,
                n_star=settings.n_star,
                alternative=alternative,
            )
            n_per, n_total, days = projected.n_per_arm, projected.n_total, projected.days
        else:
            fixed = fixed_power.plan(
                effect,
                variance,
                daily_entities=daily_entities,
                arms=arms,
                alpha=alpha,
                alternative=alternative,
            )
            n_per, n_total, days = fixed.n_per_arm, fixed.n_total, fixed.days
        out["projection"] = {
            "relativeMde": mde,
            "nPerArm": n_per,
            "nTotal": n_total,
            "days": days,
        }
    return out


def full_analysis(
    experiment: Experiment,
    analysis: Analysis,
    looks: Looks,
    *,
    mde: float,
    daily_entities: float | None,
    as_of: datetime | None,
) -> dict[str, Any]:
    """Everything, for the console and scripts: raw and adjusted p-values, power, run time.

    A comparison whose metric has not passed its minimum-data gate keeps its counts and
    means, and says why it has no p-value, interval, Bayesian report or badge yet."""
    settings = analysis.settings
    goals = {g.definition.name: g for g in experiment.config.metric_goals}
    exposure = exposure_health(experiment, looks)
    caps = cap_report(experiment, looks)
    comparisons = []
    for c in analysis.comparisons:
        gate = analysis.gates.get(c.metric)
        if gate is not None and not gate.passed:
            comparisons.append(_gated(c, analysis, looks, exposure))
            continue
        last = c.looks[-1]
        pooled_variance = (last.control.variance + last.treatment.variance) / 2
        n_per_arm = min(last.control.n, last.treatment.n)
        entry: dict[str, Any] = {
            "metric": c.metric,
            "treatment": c.treatment,
            "control": {"n": last.control.n, "mean": finite(last.raw_control.mean)},
            "treatmentStats": {"n": last.treatment.n, "mean": finite(last.raw_treatment.mean)},
            "means": _means(last),
            "conversions": {
                "control": looks.conversions[(c.metric, analysis.control)][-1],
                "treatment": looks.conversions[(c.metric, c.treatment)][-1],
            },
            "effectScale": last.scale.value,
            "absoluteEffect": _effect(last.absolute),
            "relativeEffect": _effect(last.relative),
            "pValue": finite(last.p_value),
            "adjustedPValue": finite(last.adjusted_p_value),
            "cuped": {
                "enabled": settings.cuped,
                "windowDays": experiment.config.analysis.cuped_window_days,
                "theta": last.cuped_theta,
                "varianceReduction": finite(last.variance_reduction),
            },
            "metricType": c.metric_type.value,
            "role": c.role.value,
            "bayes": bayes_content(c, analysis, exposure, caps),
            "healthChecks": comparison_health(c, analysis, exposure),
            "summary": summary_content(c, analysis),
            **({"cap": caps[c.metric]} if c.metric in caps else {}),
            "series": [
                {
                    "time": t,
                    "pValue": finite(k.p_value),
                    "adjustedPValue": finite(k.adjusted_p_value),
                    "effect": finite(k.effect.estimate),
                    "interval": _interval(k.effect.interval),
                    "relativeEffect": finite(k.relative.estimate),
                    "relativeInterval": _interval(k.relative.interval),
                    "absoluteEffect": finite(k.absolute.estimate),
                    "absoluteInterval": _interval(k.absolute.interval),
                }
                for t, k in zip(looks.times, c.looks, strict=True)
            ],
        }
        if pooled_variance > 0 and n_per_arm > 1:
            entry["power"] = power = _power(
                settings,
                goals[c.metric].desired_change,
                pooled_variance,
                n_per_arm,
                last.control.mean,
                mde,
                daily_entities,
                len(experiment.config.treatments),
            )
            if "projection" in power:
                entry["projection"] = power.pop("projection")
        comparisons.append(entry)
    return {
        "experiment": experiment.name,
        "control": analysis.control,
        "method": settings.method,
        "confidenceLevel": settings.confidence,
        "correction": settings.correction,
        "oneSided": settings.one_sided,
        "effectScale": settings.scale.value,
        "prior": _prior(settings.prior),
        "asOf": as_of.timestamp() if as_of else None,
        "timestamps": list(looks.times),
        "sampleRatioMismatch": None
        if analysis.srm is None
        else {
            "statistic": finite(analysis.srm.statistic),
            "pValue": finite(analysis.srm.p_value),
            "mismatch": analysis.srm.mismatch,
        },
        "healthChecks": exposure,
        "comparisons": comparisons,
    }


def _gated(
    c: Comparison, analysis: Analysis, looks: Looks, exposure: Mapping[str, Any]
) -> dict[str, Any]:
    last = c.looks[-1]
    return {
        "metric": c.metric,
        "treatment": c.treatment,
        "metricType": c.metric_type.value,
        "role": c.role.value,
        "gated": True,
        "control": {"n": last.raw_control.n, "mean": finite(last.raw_control.mean)},
        "treatmentStats": {"n": last.raw_treatment.n, "mean": finite(last.raw_treatment.mean)},
        "conversions": {
            "control": looks.conversions[(c.metric, analysis.control)][-1],
            "treatment": looks.conversions[(c.metric, c.treatment)][-1],
        },
        "healthChecks": comparison_health(c, analysis, exposure),
    }
