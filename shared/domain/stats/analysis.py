"""One experiment's analysis from its cumulative sufficient statistics: pure.

For every look (a cumulative snapshot at the end of a period) and every
(metric, treatment) against control:

- CUPED (Deng et al., WSDM 2013), unless the experiment turns it off: when the
  pre-exposure covariate varies, the comparison runs on the CUPED-adjusted
  moments (``cuped.py``); otherwise on the raw moments;
- the always-valid mixture SPRT (``msprt.py``; running-min p-values and
  running-intersection confidence sequences; one-sided when asked) or, per the
  experiment's ``analysisConfig``, Welch's fixed-horizon t-test (``welch.py``);
- one hypothesis per reported triple: the effect, its interval and its p-value
  are all of the relative lift, or all of the absolute difference
  (``analysisConfig.effect``);
- the family of p-values at that look (treatments x metrics) is adjusted by
  Holm, Bonferroni or Benjamini-Hochberg (``multiple.py``).

At the last look: the Bayesian report (``bayes.py``), the sample-ratio
check on exposures (``srm.py``) and the pre-exposure balance of the covariate
(``balance.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from shared.domain.stats.balance import Balance, covariate_balance
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
    EffectScale,
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
    scale: EffectScale = EffectScale.RELATIVE
    cuped: bool = True


@dataclass(frozen=True, slots=True)
class MetricInput:
    name: str
    desired_change: str  # INCREASE | DECREASE
    # treatment -> cumulative co-moments (x covariate, y outcome) at each look
    looks: Mapping[str, Sequence[CoMoments]]


@dataclass(frozen=True, slots=True)
class Look:
    """One comparison at one look. ``control`` and ``treatment`` are the moments compared
    (CUPED-adjusted when CUPED applied), ``raw_control`` and ``raw_treatment`` the observed
    ones; ``p_value`` is the reported scale's, ``adjusted_p_value`` after multiple testing."""

    control: Moments
    treatment: Moments
    raw_control: Moments
    raw_treatment: Moments
    absolute: Effect
    relative: Effect
    scale: EffectScale
    p_value: float
    adjusted_p_value: float
    cuped_theta: float | None
    variance_reduction: float
    reason: Reason | None

    @property
    def effect(self) -> Effect:
        """The reported effect: its estimate, interval and p-value test one hypothesis."""
        return self.relative if self.scale is EffectScale.RELATIVE else self.absolute


@dataclass(frozen=True, slots=True)
class Comparison:
    metric: str
    treatment: str
    looks: tuple[Look, ...]
    bayes: BayesResult
    # Health check at the last look: the pre-exposure covariate, arm against control.
    balance: Balance


@dataclass(frozen=True, slots=True)
class Analysis:
    control: str
    comparisons: tuple[Comparison, ...]
    srm: SrmResult | None
    settings: AnalysisSettings


def _moments_for(
    control: CoMoments, treatment: CoMoments, use_cuped: bool
) -> tuple[Moments, Moments, float | None, float]:
    """The pair to compare: CUPED-adjusted when asked for and the covariate carries
    information."""
    if use_cuped:
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
    alternative = _alternative(settings, desired_change)
    pairs = [
        (c, t, *_moments_for(c, t, settings.cuped)) for c, t in zip(control, treatment, strict=True)
    ]
    effects: list[tuple[Effect, Effect, Reason | None]]
    if settings.method == AnalysisMethod.SEQUENTIAL:
        series = sequential_series(
            [
                msprt(
                    c,
                    t,
                    confidence=settings.confidence,
                    n_star=settings.n_star,
                    alternative=alternative,
                )
                for _, _, c, t, _, _ in pairs
            ]
        )
        effects = [(s.absolute, s.relative, s.reason) for s in series]
    else:
        effects = []
        for _, _, c, t, _, _ in pairs:
            w = welch(c, t, confidence=settings.confidence, alternative=alternative)
            effects.append((w.absolute, w.relative, w.reason))
    looks: list[Look] = []
    for (raw_c, raw_t, c, t, theta, reduction), (absolute, relative, reason) in zip(
        pairs, effects, strict=True
    ):
        p = (relative if settings.scale is EffectScale.RELATIVE else absolute).p_value
        looks.append(
            Look(
                c,
                t,
                raw_c.y,
                raw_t.y,
                absolute,
                relative,
                settings.scale,
                p,
                p,
                theta,
                reduction,
                reason,
            )
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
    by_name = {m.name: m for m in metrics}
    for metric_name, treatment, desired_change, looks in per_comparison:
        last = looks[-1]
        metric = by_name[metric_name]
        balance = covariate_balance(metric.looks[control][-1], metric.looks[treatment][-1])
        report = bayes(
            last.control,
            last.treatment,
            prior=settings.prior,
            desired_change=desired_change,
            confidence=settings.confidence,
        )
        comparisons.append(Comparison(metric_name, treatment, tuple(looks), report, balance))

    srm_result = None
    if weights and metrics:
        first = metrics[0]
        observed = [first.looks[t][-1].n for t in treatments]
        if sum(observed) > 0:
            srm_result = srm(observed, [weights[t] for t in treatments])
    return Analysis(control, tuple(comparisons), srm_result, settings)
