"""One experiment's analysis from its cumulative sufficient statistics: pure.

For every look (a cumulative snapshot at the end of a period) and every
(metric, treatment) against control:

- CUPED (Deng et al., WSDM 2013): when the pre-exposure covariate varies, the
  comparison runs on the CUPED-adjusted moments (``cuped.py``); otherwise on
  the raw moments;
- the always-valid mixture SPRT (``msprt.py``; running-min p-values and
  running-intersection confidence sequences) or, per the experiment's
  ``analysisConfig``, Welch's fixed-horizon t-test (``welch.py``);
- the family of p-values at that look (treatments x metrics) is adjusted by
  Holm, Bonferroni or Benjamini-Hochberg (``multiple.py``).

At the last look: the Bayesian report (``bayes.py``) and the sample-ratio
check on exposures (``srm.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from shared.domain.stats.bayes import BayesResult, NormalPrior, bayes
from shared.domain.stats.comoments import CoMoments
from shared.domain.stats.cuped import cuped
from shared.domain.stats.moments import Moments
from shared.domain.stats.msprt import msprt, sequential_series
from shared.domain.stats.multiple import Correction, adjust
from shared.domain.stats.srm import SrmResult, srm
from shared.domain.stats.vocabulary import (
    Alternative,
    AnalysisMethod,
    CorrectionName,
    DesiredChange,
    Effect,
    Reason,
)
from shared.domain.stats.welch import welch

CORRECTIONS = {
    CorrectionName.HOLM: Correction.HOLM,
    CorrectionName.BONFERRONI: Correction.BONFERRONI,
    CorrectionName.BH: Correction.BENJAMINI_HOCHBERG,
}


@dataclass(frozen=True, slots=True)
class AnalysisSettings:
    method: str = AnalysisMethod.SEQUENTIAL
    confidence: float = 0.95
    correction: str = CorrectionName.HOLM
    one_sided: bool = False
    n_star: float = 5000.0
    prior: NormalPrior | None = None


@dataclass(frozen=True, slots=True)
class MetricInput:
    name: str
    desired_change: str  # INCREASE | DECREASE
    # treatment -> cumulative co-moments (x covariate, y outcome) at each look
    looks: Mapping[str, Sequence[CoMoments]]


@dataclass(frozen=True, slots=True)
class Look:
    control: Moments
    treatment: Moments
    absolute: Effect
    relative: Effect
    p_value: float
    adjusted_p_value: float
    cuped_theta: float | None
    variance_reduction: float
    reason: Reason | None


@dataclass(frozen=True, slots=True)
class Comparison:
    metric: str
    treatment: str
    looks: tuple[Look, ...]
    bayes: BayesResult


@dataclass(frozen=True, slots=True)
class Analysis:
    control: str
    comparisons: tuple[Comparison, ...]
    srm: SrmResult | None


def _moments_for(
    control: CoMoments, treatment: CoMoments
) -> tuple[Moments, Moments, float | None, float]:
    """The pair to compare: CUPED-adjusted when the covariate carries information."""
    result = cuped([control, treatment])
    if result.reason is None:
        return result.adjusted[0], result.adjusted[1], result.theta, result.variance_reduction
    return control.y, treatment.y, None, 0.0


def _alternative(settings: AnalysisSettings, desired_change: str) -> Alternative:
    if not settings.one_sided:
        return Alternative.TWO_SIDED
    return Alternative.for_desired_change(DesiredChange(desired_change))


def _raw_looks(
    control: Sequence[CoMoments],
    treatment: Sequence[CoMoments],
    settings: AnalysisSettings,
    desired_change: str,
) -> list[Look]:
    pairs = [_moments_for(c, t) for c, t in zip(control, treatment, strict=True)]
    looks: list[Look] = []
    if settings.method == AnalysisMethod.SEQUENTIAL:
        series = sequential_series(
            [
                msprt(c, t, confidence=settings.confidence, n_star=settings.n_star)
                for c, t, _, _ in pairs
            ]
        )
        for (c, t, theta, reduction), s in zip(pairs, series, strict=True):
            looks.append(
                Look(c, t, s.absolute, s.relative, s.p_value, s.p_value, theta, reduction, s.reason)
            )
    else:
        alternative = _alternative(settings, desired_change)
        for c, t, theta, reduction in pairs:
            w = welch(c, t, confidence=settings.confidence, alternative=alternative)
            looks.append(
                Look(c, t, w.absolute, w.relative, w.p_value, w.p_value, theta, reduction, w.reason)
            )
    return looks


def analyse(
    metrics: Sequence[MetricInput],
    control: str,
    treatments: Sequence[str],
    settings: AnalysisSettings,
    weights: Mapping[str, float] | None = None,
) -> Analysis:
    """Every treatment against ``control`` on every metric, at every look."""
    per_comparison: list[tuple[str, str, str, list[Look]]] = []
    for metric in metrics:
        for treatment in treatments:
            if treatment == control:
                continue
            looks = _raw_looks(
                metric.looks[control], metric.looks[treatment], settings, metric.desired_change
            )
            per_comparison.append((metric.name, treatment, metric.desired_change, looks))

    # Multiple testing over treatments x metrics, look by look.
    if per_comparison and settings.correction != CorrectionName.NONE:
        n_looks = len(per_comparison[0][3])
        for k in range(n_looks):
            raw = [looks[k].p_value for _, _, _, looks in per_comparison]
            adjusted = adjust(
                raw,
                CORRECTIONS[CorrectionName(settings.correction)],
                alpha=1 - settings.confidence,
            ).p_values
            for (_, _, _, looks), p in zip(per_comparison, adjusted, strict=True):
                looks[k] = replace(looks[k], adjusted_p_value=p)

    comparisons = []
    for metric_name, treatment, desired_change, looks in per_comparison:
        last = looks[-1]
        report = bayes(
            last.control,
            last.treatment,
            prior=settings.prior,
            desired_change=desired_change,
            confidence=settings.confidence,
        )
        comparisons.append(Comparison(metric_name, treatment, tuple(looks), report))

    srm_result = None
    if weights and metrics:
        first = metrics[0]
        observed = [first.looks[t][-1].n for t in treatments]
        if sum(observed) > 0:
            srm_result = srm(observed, [weights[t] for t in treatments])
    return Analysis(control, tuple(comparisons), srm_result)
