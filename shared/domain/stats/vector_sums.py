"""Exact power sums of k-vectors: ``sums.PowerSums`` for any number of variables.

A ratio metric with CUPED needs four variables per entity, (m, d, m_pre, d_pre), and every
pairwise co-moment among them; ``PowerSums`` holds two. The construction is the same (see
``sums.py``): every finite double is a dyadic rational, so n, the first powers sum v_i and the
cross products sum v_i v_j are exact integers in units of 2^-k and 2^-2k, with k the smallest
scale that keeps them integers. Adding, merging and removing are exact in any order, and
equal multisets give equal objects.

The second powers are kept for i <= j only (the matrix is symmetric), row-major over the
upper triangle: (0,0), (0,1), ..., (0,k-1), (1,1), ..., (k-1,k-1).

Read-out, each entry correctly rounded once from its exact value (Chan, Golub and LeVeque,
"Algorithms for computing the sample variance: analysis and recommendations", The American
Statistician 37(3), 1983, Section 2: the one-pass formula fails only through rounding, and
here there is none before the final division):

    mean_i = S_i / n,    M2_ij = (n S_ij - S_i S_j) / n.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.domain.stats.comoments import CoMoments
from shared.domain.stats.moments import Moments
from shared.domain.stats.sums import InconsistentSums, PowerSums, _dyadic, _twos
from shared.domain.stats.sums import _canonical as _canonical_pair


def _triangle(dimension: int) -> int:
    return dimension * (dimension + 1) // 2


def _index(dimension: int, i: int, j: int) -> int:
    """Position of (i, j), i <= j, in the row-major upper triangle."""
    return i * dimension - i * (i - 1) // 2 + (j - i)


@dataclass(frozen=True, slots=True)
class CoMatrix:
    """n, the means and the full symmetric matrix of sums of cross deviations (M2_ij)."""

    n: int
    means: tuple[float, ...]
    m2: tuple[tuple[float, ...], ...]

    @property
    def dimension(self) -> int:
        return len(self.means)

    def covariance(self, i: int, j: int) -> float:
        """Unbiased sample covariance (ddof 1); 0 below two points."""
        return self.m2[i][j] / (self.n - 1) if self.n > 1 else 0.0

    def moments(self, i: int) -> Moments:
        return Moments(self.n, self.means[i], self.m2[i][i])

    def comoments(self, x: int, y: int) -> CoMoments:
        return CoMoments(
            self.n, self.means[x], self.means[y], self.m2[x][x], self.m2[y][y], self.m2[x][y]
        )


@dataclass(frozen=True, slots=True)
class VectorSums:
    """n and the exact sums of v_i and v_i v_j (i <= j), signed: a cell may hold removals.

    ``first`` is in units of 2^-scale, ``second`` in units of 2^-2 scale, ``scale`` the
    smallest that makes every sum an integer.
    """

    n: int
    scale: int
    first: tuple[int, ...]
    second: tuple[int, ...]

    @classmethod
    def zero(cls, dimension: int) -> VectorSums:
        if dimension < 0:
            raise ValueError(f"a negative dimension, {dimension}")
        return cls(0, 0, (0,) * dimension, (0,) * _triangle(dimension))

    @classmethod
    def point(cls, values: Sequence[float]) -> VectorSums:
        """The sums of one vector; raises ValueError or OverflowError on nan or infinity."""
        dyadic = [_dyadic(float(v)) for v in values]
        k = max((e for _, e in dyadic), default=0)
        a = tuple(p << (k - e) for p, e in dyadic)
        d = len(a)
        second = tuple(a[i] * a[j] for i in range(d) for j in range(i, d))
        return _canonical(1, k, a, second)

    @property
    def dimension(self) -> int:
        return len(self.first)

    @property
    def is_zero(self) -> bool:
        """No points and no sums: the identity of addition, whatever its dimension."""
        return self.n == 0 and not any(self.first) and not any(self.second)

    def _at(self, k: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
        shift = k - self.scale
        if shift == 0:
            return self.first, self.second
        double = 2 * shift
        return tuple(s << shift for s in self.first), tuple(s << double for s in self.second)

    def __add__(self, other: VectorSums) -> VectorSums:
        if other.is_zero:
            return self
        if self.is_zero:
            return other
        if self.dimension != other.dimension:
            raise ValueError(f"sums of dimension {self.dimension} and {other.dimension}")
        k = max(self.scale, other.scale)
        first_a, second_a = self._at(k)
        first_b, second_b = other._at(k)
        return _canonical(
            self.n + other.n,
            k,
            tuple(a + b for a, b in zip(first_a, first_b, strict=True)),
            tuple(a + b for a, b in zip(second_a, second_b, strict=True)),
        )

    def __neg__(self) -> VectorSums:
        return VectorSums(
            -self.n, self.scale, tuple(-s for s in self.first), tuple(-s for s in self.second)
        )

    def __sub__(self, other: VectorSums) -> VectorSums:
        return self + (-other)

    def comatrix(self) -> CoMatrix:
        """n, means and M2_ij, each the correctly rounded exact value.

        Raises ``InconsistentSums`` for a negative n, no points with non-zero sums, or a
        negative M2 on the diagonal; an OverflowError when a moment exceeds a double's range.
        """
        n, d = self.n, self.dimension
        if n < 0:
            raise InconsistentSums(f"a negative count, {n}")
        if n == 0:
            if not self.is_zero:
                raise InconsistentSums("no points but non-zero sums")
            return CoMatrix(0, (0.0,) * d, tuple((0.0,) * d for _ in range(d)))
        linear = n << self.scale
        quadratic = n << (2 * self.scale)
        s = self.first
        exact = [[0] * d for _ in range(d)]
        for i in range(d):
            for j in range(i, d):
                exact[i][j] = exact[j][i] = n * self.second[_index(d, i, j)] - s[i] * s[j]
            if exact[i][i] < 0:
                raise InconsistentSums(f"a negative sum of squared deviations of variable {i}")
        return CoMatrix(
            n,
            tuple(v / linear for v in s),
            tuple(tuple(c / quadratic for c in row) for row in exact),
        )

    def pair(self, x: Sequence[int], y: Sequence[int]) -> PowerSums:
        """The exact ``PowerSums`` of two integer combinations of the variables, e.g.
        x = m_pre - d_pre and y = m - d for a FORMULA DIFFERENCE: sum (a.v)(b.v) is
        sum_ij a_i b_j S_ij, so nothing is rounded and nothing cancels."""
        d = self.dimension
        if len(x) != d or len(y) != d:
            raise ValueError(f"combinations of {len(x)} and {len(y)} variables, expected {d}")

        def second(a: Sequence[int], b: Sequence[int]) -> int:
            return sum(
                a[i] * b[j] * self.second[_index(d, min(i, j), max(i, j))]
                for i in range(d)
                if a[i]
                for j in range(d)
                if b[j]
            )

        return _canonical_pair(
            self.n,
            self.scale,
            sum(a * s for a, s in zip(x, self.first, strict=True)),
            sum(b * s for b, s in zip(y, self.first, strict=True)),
            second(x, x),
            second(y, y),
            second(x, y),
        )

    def to_json(self) -> dict[str, Any]:
        # JSON readers (orjson among them) stop at 64-bit integers; the sums are often wider.
        return {
            "n": self.n,
            "k": self.scale,
            "first": [format(s, "x") for s in self.first],
            "second": [format(s, "x") for s in self.second],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VectorSums:
        scale = int(data["k"])
        if scale < 0:
            raise ValueError(f"a negative scale, {scale}")
        first = tuple(int(str(s), 16) for s in data["first"])
        second = tuple(int(str(s), 16) for s in data["second"])
        if len(second) != _triangle(len(first)):
            raise ValueError(
                f"{len(second)} second-power sums for dimension {len(first)}, "
                f"expected {_triangle(len(first))}"
            )
        return _canonical(int(data["n"]), scale, first, second)


def _canonical(n: int, k: int, first: tuple[int, ...], second: tuple[int, ...]) -> VectorSums:
    """The same sums at the smallest scale that keeps them integers."""
    if k:
        linear = min((_twos(s) for s in first), default=1 << 30)
        quadratic = min((_twos(s) for s in second), default=1 << 30) // 2
        drop = min(k, linear, quadratic)
        if drop:
            double = 2 * drop
            return VectorSums(
                n, k - drop, tuple(s >> drop for s in first), tuple(s >> double for s in second)
            )
    return VectorSums(n, k, first, second)
