"""Multiple-comparison adjustments over a family of p-values (treatments x metrics).

Bonferroni (Dunn, "Multiple comparisons among means", JASA 56, 1961): p~_i = min(1, m p_i).
Holm, "A simple sequentially rejective multiple test procedure", Scand. J. Statist. 6, 1979:
step-down, p~_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)).
Benjamini and Hochberg, "Controlling the false discovery rate", JRSS B 57, 1995, and the
adjusted form of Yekutieli and Benjamini, J. Stat. Plan. Inference 82, 1999: step-up,
p~_(i) = min_{j >= i} min(1, m p_(j) / j).
Adjusted values are returned in input order; reject H_i when p~_i <= alpha.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Correction(StrEnum):
    BONFERRONI = "bonferroni"
    HOLM = "holm"
    BENJAMINI_HOCHBERG = "benjamini-hochberg"


@dataclass(frozen=True, slots=True)
class AdjustedPValues:
    """Adjusted p-values in input order and which hypotheses they reject at ``alpha``."""

    correction: Correction
    alpha: float
    p_values: tuple[float, ...]
    rejected: tuple[bool, ...]


def _check(p_values: Sequence[float]) -> None:
    if any(not 0.0 <= p <= 1.0 for p in p_values):
        raise ValueError("p-values must lie in [0, 1]")


def bonferroni(p_values: Sequence[float]) -> tuple[float, ...]:
    """p~_i = min(1, m p_i) (Dunn 1961)."""
    _check(p_values)
    m = len(p_values)
    return tuple(min(1.0, m * p) for p in p_values)


def holm(p_values: Sequence[float]) -> tuple[float, ...]:
    """Holm (1979) step-down: p~_(i) = max_{j <= i} min(1, (m - j + 1) p_(j)), 1-based ranks."""
    _check(p_values)
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return tuple(adjusted)


def benjamini_hochberg(p_values: Sequence[float]) -> tuple[float, ...]:
    """Benjamini-Hochberg (1995) step-up: p~_(i) = min_{j >= i} min(1, m p_(j) / j)."""
    _check(p_values)
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m - 1, -1, -1):
        i = order[rank]
        running = min(running, m * p_values[i] / (rank + 1))
        adjusted[i] = running
    return tuple(adjusted)


def adjust(
    p_values: Sequence[float],
    correction: Correction = Correction.HOLM,
    *,
    alpha: float = 0.05,
) -> AdjustedPValues:
    """Adjust a family's p-values with ``correction`` and reject those at or below alpha."""
    if correction is Correction.BONFERRONI:
        adjusted = bonferroni(p_values)
    elif correction is Correction.HOLM:
        adjusted = holm(p_values)
    else:
        adjusted = benjamini_hochberg(p_values)
    return AdjustedPValues(correction, alpha, adjusted, tuple(p <= alpha for p in adjusted))
