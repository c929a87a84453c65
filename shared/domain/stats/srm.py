"""Sample-ratio mismatch: do the arms' entity counts fit the configured split?

Fabijan, Gupchup, Gupta, Omhover, Qin, Vermeer and Dmitriev, "Diagnosing sample ratio mismatch
in online controlled experiments: a taxonomy and rules of thumb for practitioners", KDD 2019:
Pearson's chi-square goodness-of-fit test of the observed counts against the expected split,
flagged at p < 0.001 so that the check itself rarely raises false alarms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats  # type: ignore[import-untyped]

from shared.domain.stats.vocabulary import Reason

DEFAULT_THRESHOLD = 0.001


@dataclass(frozen=True, slots=True)
class SrmResult:
    """Pearson's statistic, its dof and p-value; ``mismatch`` when p < ``threshold``.

    With ``reason`` set (no entities, or fewer than two arms with weight) nothing is flagged.
    """

    statistic: float
    dof: int
    p_value: float
    mismatch: bool
    threshold: float
    reason: Reason | None = None


def srm(
    observed: Sequence[int],
    weights: Sequence[float],
    *,
    threshold: float = DEFAULT_THRESHOLD,
) -> SrmResult:
    """Chi-square goodness of fit (Pearson 1900; Fabijan et al., KDD 2019).

    E_i = N w_i / sum(w), chi^2 = sum_i (O_i - E_i)^2 / E_i on k - 1 dof, p = P(chi^2_{k-1} >
    stat). Weights may be in any unit (Evidently sends thousandths of a percent). An arm with
    weight 0 is left out when empty; when it holds entities the split is broken outright, so
    the statistic is infinite and p is 0.
    """
    if len(observed) != len(weights):
        raise ValueError("observed and weights must have one entry per arm")
    if any(w < 0 for w in weights) or any(o < 0 for o in observed):
        raise ValueError("counts and weights must be non-negative")
    total = sum(observed)
    weight = sum(weights)
    live = [(o, w) for o, w in zip(observed, weights, strict=True) if w > 0]
    dof = len(live) - 1
    if total == 0 or dof < 1:
        return SrmResult(0.0, max(dof, 0), 1.0, False, threshold, Reason.NOT_ENOUGH_DATA)
    if any(o > 0 and w == 0 for o, w in zip(observed, weights, strict=True)):
        return SrmResult(math.inf, dof, 0.0, True, threshold)
    statistic = 0.0
    for o, w in live:
        expected = total * w / weight
        statistic += (o - expected) ** 2 / expected
    p_value = float(stats.chi2.sf(statistic, dof))
    return SrmResult(statistic, dof, p_value, p_value < threshold, threshold)
