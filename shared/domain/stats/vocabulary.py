"""The small vocabulary every statistic shares, as gbstats keeps its messages and models
apart from its tests: why a figure is missing, which hypothesis, an interval, an effect."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


class Reason(StrEnum):
    """Why a statistic could not be computed; thin data is reported, never raised."""

    NOT_ENOUGH_DATA = "NOT_ENOUGH_DATA"
    ZERO_VARIANCE = "ZERO_VARIANCE"
    ZERO_CONTROL_MEAN = "ZERO_CONTROL_MEAN"
    ZERO_COVARIATE_VARIANCE = "ZERO_COVARIATE_VARIANCE"
    # A ratio metric whose denominator averages zero in an arm (no events to average over).
    ZERO_DENOMINATOR = "ZERO_DENOMINATOR"


class DesiredChange(StrEnum):
    """Evidently's ``MetricGoalConfig.desiredChange``."""

    INCREASE = "INCREASE"
    DECREASE = "DECREASE"


class Alternative(StrEnum):
    """The alternative hypothesis about treatment minus control, named as scipy names it."""

    TWO_SIDED = "two-sided"
    GREATER = "greater"
    LESS = "less"

    @classmethod
    def for_desired_change(cls, desired_change: DesiredChange | str) -> Alternative:
        """The one-sided alternative that a metric goal's desired change asks about."""
        if DesiredChange(desired_change) is DesiredChange.INCREASE:
            return cls.GREATER
        return cls.LESS


@dataclass(frozen=True, slots=True)
class Interval:
    """A closed interval; one-sided intervals carry an infinite end."""

    low: float
    high: float

    @property
    def is_empty(self) -> bool:
        return self.low > self.high

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def intersect(self, other: Interval) -> Interval:
        return Interval(max(self.low, other.low), min(self.high, other.high))


UNBOUNDED = Interval(-math.inf, math.inf)


@dataclass(frozen=True, slots=True)
class Effect:
    """One hypothesis about one scale: a point estimate, its standard error, the interval
    around it and the p-value of "no effect" on the same scale, so that the p-value is
    below alpha exactly when the interval excludes zero."""

    estimate: float
    se: float
    interval: Interval
    p_value: float = 1.0
    reason: Reason | None = None


class EffectScale(StrEnum):
    """``analysisConfig.effect``: the scale of the reported effect, interval and p-value.

    Relative is the lift mean_t / mean_c - 1 (delta method), as gbstats reports by default;
    absolute is mean_t - mean_c.
    """

    RELATIVE = "relative"
    ABSOLUTE = "absolute"


class PriorKind(StrEnum):
    """``analysisConfig.prior``: the Bayesian report's prior on the relative lift."""

    FLAT = "flat"
    PROPER = "proper"


class AnalysisMethod(StrEnum):
    """``analysisConfig.method``: the always-valid sequential test or the fixed-horizon t-test."""

    SEQUENTIAL = "sequential"
    TTEST = "ttest"


class CorrectionName(StrEnum):
    """``analysisConfig.correction``: the multiple-testing correction, as a request names it."""

    HOLM = "holm"
    BONFERRONI = "bonferroni"
    BH = "bh"
    NONE = "none"


class MetricType(StrEnum):
    """``metricType`` of a metric goal: what one entity's number is (README, Metric types).

    Amplitude's seven (seed 003): the sum of a value, event totals, unique conversions, the
    average of a value (a ratio of sums, per event), a funnel, a formula over two other
    metrics, and retention on day N after exposure.
    """

    SUM = "SUM"
    COUNT = "COUNT"
    UNIQUE_CONVERSIONS = "UNIQUE_CONVERSIONS"
    AVERAGE = "AVERAGE"
    FUNNEL = "FUNNEL"
    FORMULA = "FORMULA"
    RETENTION = "RETENTION"

    @property
    def binary(self) -> bool:
        """Whether an entity's number is 0 or 1: a proportion, tested as one."""
        return self in (MetricType.UNIQUE_CONVERSIONS, MetricType.FUNNEL, MetricType.RETENTION)


class MetricRole(StrEnum):
    """``role`` of a metric goal. Guardrails stay out of the multiple-testing family and are
    flagged when they degrade; the first goal is primary unless another is named."""

    PRIMARY = "PRIMARY"
    SECONDARY = "SECONDARY"
    GUARDRAIL = "GUARDRAIL"


class CapKind(StrEnum):
    """``cap.kind``: winsorize each entity's number at a fixed value, or at a percentile of
    the entities' numbers."""

    ABSOLUTE = "ABSOLUTE"
    PERCENTILE = "PERCENTILE"


class FormulaOperator(StrEnum):
    """``formula.operator``: a formula metric is the ratio or the difference of two others."""

    RATIO = "RATIO"
    DIFFERENCE = "DIFFERENCE"
