"""The assignment hash: a pure, documented function of (purpose, salt, entityId).

Any client SDK reproduces Verdict's assignments with exactly this::

    key    = UTF-8 bytes of  purpose + ":" + salt + ":" + entityId
    h      = MurmurHash3_x86_32(key, seed = 0), as an unsigned 32-bit integer
    bucket = h mod 100000                                    # 0 .. 99999

``salt`` is the experiment's or launch's ``randomizationSalt`` (Evidently
defaults it to the resource name). ``purpose`` keeps independent decisions
independent: ``"sample"`` decides whether an entity enters an experiment
(``bucket < samplingRate``) and ``"split"`` which treatment or launch group it
gets; a purpose never contains ":", so keys of different purposes never meet.
Lone surrogates, which are not Unicode scalar values, are encoded as Python's
``surrogatepass`` does (three bytes each) rather than failing the request.

Reduction: the modulo keeps the function one line in every language. Since
2**32 = 42949 * 100000 + 67296, buckets 0..67295 have 42950 preimages and the
rest 42949; the probability of ``bucket < t`` is then off from ``t / 100000``
by at most 5.13e-6 (at t = 67296), a shift a sample-ratio check would need
some 10**10 entities to see.

Buckets to names: ``pick`` lays the (name, weight) pairs end to end from 0 in
the order given, each covering ``[start, start + weight)``; a point past the
sum is unassigned, which is how a launch segment override whose weights sum
below 100000 lets the rest fall through. Map-shaped weights must be passed
sorted by name (code-point order) so every implementation draws the same ranges.
Experiment treatment weights are relative: ``scale_weights`` makes them sum to
100000 by largest remainder (floor of ``w * 100000 // sum``, then one more unit
to the largest remainders ``w * 100000 % sum``, earlier pairs first on ties).

Test vectors (purpose, salt, entityId -> h -> bucket); in the third, ë is
U+00EB and é U+00E9, as given (Verdict applies no Unicode normalisation)::

    "sample", "exp-1",      "user-1" -> 0x8868faa3 -> 81283
    "split",  "exp-1",      "user-1" -> 0xa928b40b -> 17035
    "split",  "Zoë's test", "é"      -> 0xf01a3e5a -> 51738
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import mmh3

from shared.domain.values import EVERYONE

__all__ = ["BUCKETS", "SAMPLE", "SPLIT", "bucket", "pick", "scale_weights"]

BUCKETS: Final = EVERYONE
"""Evidently weights and sampling rates are thousandths of a percent."""

SAMPLE: Final = "sample"
SPLIT: Final = "split"


def bucket(salt: str, entity_id: str, purpose: str) -> int:
    """The entity's bucket in 0..99_999 for one decision; see the module docstring."""
    if ":" in purpose:
        raise ValueError(f"purpose must not contain ':', got {purpose!r}")
    key = f"{purpose}:{salt}:{entity_id}".encode("utf-8", "surrogatepass")
    return int(mmh3.hash(key, 0, False)) % BUCKETS


def pick(weights: Sequence[tuple[str, int]], point: int) -> str | None:
    """The name whose cumulative range holds ``point``; None past the sum of weights."""
    if point < 0:
        return None
    end = 0
    for name, weight in weights:
        if weight < 0:
            raise ValueError(f"weight of {name!r} is negative: {weight}")
        end += weight
        if point < end:
            return name
    return None


def scale_weights(
    weights: Sequence[tuple[str, int]], total: int = BUCKETS
) -> tuple[tuple[str, int], ...]:
    """Integer weights proportional to ``weights`` that sum to ``total``.

    All-zero weights stay zero, so ``pick`` assigns nobody rather than
    inventing an even split. Zero weights stay zero in every case.
    """
    if any(weight < 0 for _, weight in weights):
        raise ValueError("weights must not be negative")
    current = sum(weight for _, weight in weights)
    if current in (0, total):
        return tuple(weights)
    shares = [divmod(weight * total, current) for _, weight in weights]
    scaled = [share for share, _ in shares]
    missing = total - sum(scaled)
    # Largest remainder (Hamilton); ties go to the earlier pair, so the result
    # depends only on the order the caller fixed.
    order = sorted(range(len(shares)), key=lambda i: (-shares[i][1], i))
    for i in order[:missing]:
        scaled[i] += 1
    return tuple((name, scaled[i]) for i, (name, _) in enumerate(weights))
