"""Percentile capping (winsorization) from a mergeable log-binned sketch of entities' numbers.

GrowthBook and Statsig cap each unit's value at a percentile of all units' values, to keep a
few whales from swamping a mean (GrowthBook, "Metrics: capping"; Kohavi, Tang and Xu,
"Trustworthy Online Controlled Experiments", 2020, Section 22.3, on winsorization). The
percentile is not known while events stream in, so the cells keep every entity's point in a
bin of its y as well: bins of relative width ``GAMMA`` (the relative-accuracy buckets of
DDSketch: Masson, Rim and Lee, "DDSketch: a fast and fully-mergeable quantile sketch with
relative-error guarantees", PVLDB 12(12), 2019, Section 2), each holding the exact power sums
of its points, so bins add, merge and remove exactly like the cells themselves.

At query time the cap is the upper edge of the bin holding the q-th quantile of the entities'
numbers, pooled over treatments (the nearest-rank quantile, within a factor ``GAMMA`` of the
exact one). Every point in a bin above it is larger than the cap and is moved onto it; every
point at or below it keeps its value. The capped sums are then exact for that cap: the points
in bins above keep their x and take y = cap (``PowerSums.with_y``). The covariate is not capped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from shared.domain.stats.sums import EMPTY, PowerSums

# A relative accuracy of 1%: bins (g^(k-1), g^k] with g = (1 + 0.01) / (1 - 0.01).
ALPHA = 0.01
GAMMA = (1 + ALPHA) / (1 - ALPHA)
_LOG_GAMMA = math.log(GAMMA)
# Positive numbers take keys above OFFSET, negative ones below -OFFSET, zero 0: keys sort as
# the numbers do. |log_g(x)| < 36,000 for every finite double.
OFFSET = 100_000


def bin_of(y: float) -> int:
    """The key of the bin that holds ``y``."""
    if y == 0:
        return 0
    k = math.ceil(math.log(abs(y)) / _LOG_GAMMA)
    # Rounding in the logarithm may put an exact power of g one bin off; correct it so that
    # the bin is (g^(k-1), g^k] exactly as the edges are computed.
    while abs(y) > GAMMA**k:
        k += 1
    while k > -OFFSET + 1 and abs(y) <= GAMMA ** (k - 1):
        k -= 1
    return OFFSET + k if y > 0 else -(OFFSET + k)


def upper(key: int) -> float:
    """The least upper bound of the numbers in a bin: the cap it gives."""
    if key == 0:
        return 0.0
    if key > 0:
        return float(GAMMA ** (key - OFFSET))
    return float(-(GAMMA ** (-key - OFFSET - 1)))


@dataclass(frozen=True, slots=True)
class Cap:
    """The cap a percentile gives, and how many entities it moved (pooled, and per arm)."""

    percentile: float
    value: float
    key: int
    touched: int


def cap_of(counts: Mapping[int, int], percentile: float) -> Cap | None:
    """The cap at ``percentile`` (0-100) of the entities counted per bin; None without any."""
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(percentile / 100 * total))
    running = 0
    for key in sorted(counts):
        running += counts[key]
        if running >= rank:
            return Cap(percentile, upper(key), key, total - running)
    raise AssertionError("the ranks add up to the total")  # pragma: no cover


def capped(bins: Mapping[int, PowerSums], cap: Cap) -> tuple[PowerSums, int]:
    """One arm's exact sums with every y above the cap moved onto it, and how many moved."""
    total = EMPTY
    touched = 0
    for key, sums in bins.items():
        if key > cap.key:
            total = total + sums.with_y(cap.value)
            touched += sums.n
        else:
            total = total + sums
    return total, touched
