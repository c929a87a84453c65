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

Metric types (``MetricInput.metric_type``) choose what an arm's "mean" is:

- scalar (SUM, COUNT; FORMULA DIFFERENCE given as the co-moments of each entity's difference):
  the entities' mean, as above;
- binary (UNIQUE_CONVERSIONS, FUNNEL, RETENTION): a proportion with the Bernoulli variance,
  the Wald z-test at a fixed horizon and the mSPRT on p (1 - p) (``proportions.py``);
- ratio (AVERAGE, FORMULA RATIO, given as the ``CoMatrix`` of (m, d, m_pre, d_pre)): the
  ratio of means with its delta-method variance, CUPED for ratios (``ratio.py``), then the
  same Welch or mSPRT test.

Roles: GUARDRAIL comparisons stay out of the multiple-testing family (their adjusted p-value
is their raw one) and are ``degraded`` when the reported effect goes the undesired way with
p < alpha; with ``one_sided`` their test looks in the undesired direction, the question a
guardrail asks.

At the last look: the Bayesian report (``bayes.py``), the sample-ratio
check on exposures (``srm.py``), the pre-exposure balance of the covariate
(``balance.py``) and each metric's minimum-data gate (``gates.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

from shared.domain.stats.balance import THRESHOLD, Balance, covariate_balance, moments_balance
from shared.domain.stats.bayes import BayesResult, NormalPrior, bayes
from shared.domain.stats.comoments import CoMoments
from shared.domain.stats.cuped import cuped
from shared.domain.stats.gates import MIN_CONVERSIONS, MIN_ENTITIES, Gate, data_gate
from shared.domain.stats.moments import Moments
from shared.domain.stats.msprt import msprt, sequential_series
from shared.domain.stats.multiple import Correction, adjust
from shared.domain.stats.proportions import bernoulli, proportions_cuped, z_test
from shared.domain.stats.ratio import D_PRE, M_PRE, ratio, ratio_cuped
from shared.domain.stats.srm import SrmResult, srm
from shared.domain.stats.vector_sums import CoMatrix
from shared.domain.stats.vocabulary import (
    Alternative,
    AnalysisMethod,
    CorrectionName,
    DesiredChange,
    Effect,
    EffectScale,
    MetricRole,
    MetricType,
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
    # The minimum-data gate reported per metric (Amplitude's, seed 002).
    min_entities: int = MIN_ENTITIES
    min_conversions: int = MIN_CONVERSIONS


@dataclass(frozen=True, slots=True)
class MetricInput:
    name: str
    desired_change: str  # INCREASE | DECREASE
    # treatment -> cumulative statistics at each look: CoMoments (x covariate, y outcome) for
    # scalar and binary types, CoMatrix of (m, d, m_pre, d_pre) for ratio types.
    looks: Mapping[str, Sequence[CoMoments | CoMatrix]]
    metric_type: MetricType = MetricType.SUM
    role: MetricRole = MetricRole.SECONDARY
    goal: float | None = None


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
    metric_type: MetricType = MetricType.SUM
    role: MetricRole = MetricRole.SECONDARY
    goal: float | None = None
    # GUARDRAIL only: the reported effect goes the undesired way with raw p < alpha.
    degraded: bool = False


@dataclass(frozen=True, slots=True)
class Analysis:
    control: str
    comparisons: tuple[Comparison, ...]
    srm: SrmResult | None
    settings: AnalysisSettings
    # metric -> the minimum-data gate over every variation at the last look
    gates: Mapping[str, Gate] = field(default_factory=dict)


class _Kind(StrEnum):
    SCALAR = "scalar"
    BINARY = "binary"
    RATIO = "ratio"


def _kind(metric: MetricInput) -> _Kind:
    """The analysis a metric takes, checked against the statistics it was given."""
    matrices = any(isinstance(s, CoMatrix) for looks in metric.looks.values() for s in looks)
    pairs = any(isinstance(s, CoMoments) for looks in metric.looks.values() for s in looks)
    if matrices and pairs:
        raise ValueError(f"metric {metric.name!r} mixes CoMoments and CoMatrix looks")
    if metric.metric_type.binary:
        if matrices:
            raise ValueError(f"binary metric {metric.name!r} needs CoMoments looks")
        return _Kind.BINARY
    if matrices:
        if metric.metric_type not in (MetricType.AVERAGE, MetricType.FORMULA):
            raise ValueError(f"{metric.metric_type} metric {metric.name!r} is no ratio")
        return _Kind.RATIO
    if metric.metric_type is MetricType.AVERAGE and pairs:
        raise ValueError(f"AVERAGE metric {metric.name!r} needs CoMatrix looks")
    return _Kind.SCALAR


@dataclass(frozen=True, slots=True)
class _Pair:
    """What one look compares: raw and (CUPED-)adjusted moments of each arm."""

    raw_control: Moments
    raw_treatment: Moments
    control: Moments
    treatment: Moments
    theta: float | None
    reduction: float
    # Set when the metric itself is undefined at this look (a ratio over nothing).
    reason: Reason | None = None


def _scalar(control: CoMoments, treatment: CoMoments, use_cuped: bool) -> _Pair:
    """The pair to compare: CUPED-adjusted when asked for and the covariate carries
    information."""
    if use_cuped:
        result = cuped([control, treatment])
        if result.reason is None:
            c, t = result.adjusted
            return _Pair(control.y, treatment.y, c, t, result.theta, result.variance_reduction)
    return _Pair(control.y, treatment.y, control.y, treatment.y, None, 0.0)


def _binary(control: CoMoments, treatment: CoMoments, use_cuped: bool) -> _Pair:
    raw_c, raw_t = bernoulli(control), bernoulli(treatment)
    if use_cuped:
        result = proportions_cuped(control, treatment)
        if result.theta is not None:
            return _Pair(
                raw_c,
                raw_t,
                result.control,
                result.treatment,
                result.theta,
                result.variance_reduction,
            )
    return _Pair(raw_c, raw_t, raw_c, raw_t, None, 0.0)


def _ratio(control: CoMatrix, treatment: CoMatrix, use_cuped: bool) -> _Pair:
    c, t = ratio(control), ratio(treatment)
    undefined = Reason.ZERO_DENOMINATOR in (c.reason, t.reason)
    reason = Reason.ZERO_DENOMINATOR if undefined else None
    if use_cuped and not undefined:
        result = ratio_cuped([control, treatment])
        if result.reason is None:
            adjusted_c, adjusted_t = result.adjusted
            return _Pair(
                c.moments,
                t.moments,
                adjusted_c,
                adjusted_t,
                result.theta,
                result.variance_reduction,
            )
    return _Pair(c.moments, t.moments, c.moments, t.moments, None, 0.0, reason)


def _pair(
    kind: _Kind, control: CoMoments | CoMatrix, treatment: CoMoments | CoMatrix, cuped_on: bool
) -> _Pair:
    if isinstance(control, CoMatrix) and isinstance(treatment, CoMatrix):
        return _ratio(control, treatment, cuped_on)
    if isinstance(control, CoMoments) and isinstance(treatment, CoMoments):
        if kind is _Kind.BINARY:
            return _binary(control, treatment, cuped_on)
        return _scalar(control, treatment, cuped_on)
    raise ValueError("control and treatment looks of one metric must be of one kind")


def _alternative(settings: AnalysisSettings, desired_change: str, role: MetricRole) -> Alternative:
    if not settings.one_sided:
        return Alternative.TWO_SIDED
    desired = Alternative.for_desired_change(DesiredChange(desired_change))
    if role is not MetricRole.GUARDRAIL:
        return desired
    # A guardrail asks whether the metric got worse.
    return Alternative.LESS if desired is Alternative.GREATER else Alternative.GREATER


def _raw_looks(
    control: Sequence[CoMoments | CoMatrix],
    treatment: Sequence[CoMoments | CoMatrix],
    settings: AnalysisSettings,
    desired_change: str,
    kind: _Kind = _Kind.SCALAR,
    role: MetricRole = MetricRole.SECONDARY,
) -> list[Look]:
    alternative = _alternative(settings, desired_change, role)
    pairs = [_pair(kind, c, t, settings.cuped) for c, t in zip(control, treatment, strict=True)]
    effects: list[tuple[Effect, Effect, Reason | None]]
    if settings.method == AnalysisMethod.SEQUENTIAL:
        series = sequential_series(
            [
                msprt(
                    compared.control,
                    compared.treatment,
                    confidence=settings.confidence,
                    n_star=settings.n_star,
                    alternative=alternative,
                )
                for compared in pairs
            ]
        )
        effects = [(s.absolute, s.relative, s.reason) for s in series]
    else:
        # A proportion takes the z-test on its Bernoulli variances; a mean or a ratio, Welch.
        fixed = z_test if kind is _Kind.BINARY else welch
        effects = []
        for compared in pairs:
            result = fixed(
                compared.control,
                compared.treatment,
                confidence=settings.confidence,
                alternative=alternative,
            )
            effects.append((result.absolute, result.relative, result.reason))
    looks: list[Look] = []
    for pair, (absolute, relative, reason) in zip(pairs, effects, strict=True):
        if pair.reason is not None:
            reason = pair.reason
            absolute = replace(absolute, reason=reason)
            relative = replace(relative, reason=reason)
        p = (relative if settings.scale is EffectScale.RELATIVE else absolute).p_value
        looks.append(
            Look(
                pair.control,
                pair.treatment,
                pair.raw_control,
                pair.raw_treatment,
                absolute,
                relative,
                settings.scale,
                p,
                p,
                pair.theta,
                pair.reduction,
                reason,
            )
        )
    return looks


def _balance(control: CoMoments | CoMatrix, treatment: CoMoments | CoMatrix) -> Balance:
    """The pre-exposure covariate's balance: CUPED's X, or a ratio metric's pre ratio."""
    if isinstance(control, CoMoments) and isinstance(treatment, CoMoments):
        return covariate_balance(control, treatment)
    if isinstance(control, CoMatrix) and isinstance(treatment, CoMatrix):
        c, t = ratio(control, M_PRE, D_PRE), ratio(treatment, M_PRE, D_PRE)
        undefined = c.reason or t.reason
        if undefined is not None:
            return Balance(0.0, 1.0, THRESHOLD, False, undefined)
        return moments_balance(c.moments, t.moments)
    raise ValueError("control and treatment looks of one metric must be of one kind")


def _degraded(look: Look, desired_change: str, alpha: float) -> bool:
    effect = look.effect
    if look.reason is not None or effect.reason is not None:
        return False
    increase = DesiredChange(desired_change) is DesiredChange.INCREASE
    worse = effect.estimate < 0.0 if increase else effect.estimate > 0.0
    return worse and look.p_value < alpha


def _gate(
    metric: MetricInput, arms: Sequence[str], binary: bool, settings: AnalysisSettings
) -> Gate:
    counts: dict[str, tuple[int, int]] = {}
    for arm in arms:
        last = metric.looks[arm][-1]
        # k = n p of 0/1 outcomes: n times a correctly rounded k / n rounds back to k.
        conversions = round(last.n * last.mean_y) if isinstance(last, CoMoments) else 0
        counts[arm] = (last.n, conversions)
    return data_gate(counts, binary, settings.min_entities, settings.min_conversions)


def analyse(
    metrics: Sequence[MetricInput],
    control: str,
    treatments: Sequence[str],
    settings: AnalysisSettings,
    weights: Mapping[str, float] | None = None,
) -> Analysis:
    """Every treatment against ``control`` on every metric, at every look."""
    alpha = 1 - settings.confidence
    kinds = {metric.name: _kind(metric) for metric in metrics}
    per_comparison: list[tuple[MetricInput, str, list[Look]]] = []
    for metric in metrics:
        for treatment in treatments:
            if treatment == control:
                continue
            looks = _raw_looks(
                metric.looks[control],
                metric.looks[treatment],
                settings,
                metric.desired_change,
                kinds[metric.name],
                metric.role,
            )
            per_comparison.append((metric, treatment, looks))

    # Multiple testing over treatments x non-guardrail metrics, look by look; guardrails keep
    # their raw p-value, so adding a guardrail never costs the decision metrics power.
    family = [
        looks for metric, _, looks in per_comparison if metric.role is not MetricRole.GUARDRAIL
    ]
    if len({len(looks) for _, _, looks in per_comparison}) > 1:
        raise ValueError("every metric and treatment must have the same looks")
    if family and settings.correction != CorrectionName.NONE:
        n_looks = len(family[0])
        for k in range(n_looks):
            raw = [looks[k].p_value for looks in family]
            adjusted = adjust(
                raw, CORRECTIONS[CorrectionName(settings.correction)], alpha=alpha
            ).p_values
            for looks, p in zip(family, adjusted, strict=True):
                looks[k] = replace(looks[k], adjusted_p_value=p)

    comparisons = []
    for metric, treatment, looks in per_comparison:
        last = looks[-1]
        balance = _balance(metric.looks[control][-1], metric.looks[treatment][-1])
        report = bayes(
            last.control,
            last.treatment,
            prior=settings.prior,
            desired_change=metric.desired_change,
            confidence=settings.confidence,
        )
        guardrail = metric.role is MetricRole.GUARDRAIL
        comparisons.append(
            Comparison(
                metric.name,
                treatment,
                tuple(looks),
                report,
                balance,
                metric.metric_type,
                metric.role,
                metric.goal,
                guardrail and _degraded(last, metric.desired_change, alpha),
            )
        )

    arms = [control, *(t for t in treatments if t != control)]
    gates = {
        m.name: _gate(m, arms, kinds[m.name] is _Kind.BINARY, settings)
        for m in metrics
        if all(m.looks.get(a) for a in arms)
    }

    srm_result = None
    if weights and metrics:
        first = metrics[0]
        observed = [first.looks[t][-1].n for t in treatments]
        if sum(observed) > 0:
            srm_result = srm(observed, [weights[t] for t in treatments])
    return Analysis(control, tuple(comparisons), srm_result, settings, gates)
