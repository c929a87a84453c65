"""Health check: is the pre-exposure covariate balanced between the arms?

Randomisation makes the arms alike before exposure, so their pre-exposure covariate (the
CUPED covariate: each entity's metric in the window before exposure) should differ only
by chance. A difference beyond chance means the assignment is not what it should be (a
bug in bucketing, a segment that leaked, a carry-over from an earlier experiment), and
CUPED would then adjust for a difference randomisation should have removed. Welch's
t-test of the covariate's means, flagged at p < 0.001: the threshold GrowthBook and
Statsig use for their balance checks, so that across many metrics and experiments a flag
is rare unless something is wrong (Kohavi, Tang and Xu, "Trustworthy Online Controlled
Experiments", 2020, Ch. 21, on invariant metrics).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.stats.comoments import CoMoments
from shared.domain.stats.moments import Moments
from shared.domain.stats.vocabulary import Reason
from shared.domain.stats.welch import welch

THRESHOLD = 0.001


@dataclass(frozen=True, slots=True)
class Balance:
    """The covariate's difference in means (treatment - control) and its two-sided Welch
    p-value; ``imbalanced`` when p < ``threshold``. With ``reason`` set there was nothing
    to test (too few entities, or a covariate that does not vary)."""

    difference: float
    p_value: float
    threshold: float
    imbalanced: bool
    reason: Reason | None = None


def covariate_balance(
    control: CoMoments, treatment: CoMoments, threshold: float = THRESHOLD
) -> Balance:
    return moments_balance(control.x, treatment.x, threshold)


def moments_balance(control: Moments, treatment: Moments, threshold: float = THRESHOLD) -> Balance:
    """The same check on any covariate given as ``Moments``: a ratio metric's pre-exposure
    ratio, whose variance is the delta method's (``ratio.py``)."""
    result = welch(control, treatment)
    return Balance(
        result.absolute.estimate,
        result.p_value,
        threshold,
        result.reason is None and result.p_value < threshold,
        result.reason,
    )
