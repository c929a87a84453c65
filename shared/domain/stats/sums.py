"""Exact power sums of pairs (x, y): the cells' sufficient statistics, free of rounding.

Every finite double is a dyadic rational p / 2^e, so a multiset of doubles has exact sums
n, sum x, sum y, sum x^2, sum y^2 and sum xy that Python's integers hold without loss. Kept
in units of 2^-k (first powers) and 2^-2k (second powers), adding a point, merging two cells
and removing a sub-sample are all exact, in any order: there is nothing to cancel, however
far the values sit from zero. This replaces Welford's update and Chan et al.'s inverse merge
in the cells, whose removal of a point far from the mean lost about (mean/sd)^2 ulps of M2.

The moments are read out once, at the end, each correctly rounded (Python divides two
integers with a single rounding):

    mean = S_x / n,    M2 = (n S_xx - S_x^2) / n,    C_xy = (n S_xy - S_x S_y) / n,

whose numerators are computed exactly, so M2 >= 0 and C_xy^2 <= M2_x M2_y hold before
rounding (the textbook "one-pass" formula is unstable in floating point only; Chan, Golub and
LeVeque, "Algorithms for computing the sample variance: analysis and recommendations", The
American Statistician 37(3), 1983, Section 2, analyse exactly that rounding). A negative M2 can
then only mean the sums were corrupted (a removal of what was never added), and it is an
error, ``InconsistentSums``, never a silent zero.

These are the sufficient statistics gbstats keeps (``SampleMeanStatistic(n, sum,
sum_squares)``, ``RegressionAdjustedStatistic`` with the cross product), held exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.stats.comoments import CoMoments


class InconsistentSums(ValueError):
    """Sums no multiset of points can have: a negative count or a negative square sum."""


def _dyadic(value: float) -> tuple[int, int]:
    """(p, e) with value == p / 2^e exactly; e >= 0 (an integer-valued double has e = 0)."""
    p, q = value.as_integer_ratio()
    return p, q.bit_length() - 1


def _twos(value: int) -> int:
    """How many times 2 divides value; a large sentinel for 0, which any power divides."""
    return (value & -value).bit_length() - 1 if value else 1 << 30


@dataclass(frozen=True, slots=True)
class PowerSums:
    """n and the exact sums of x, y, x^2, y^2 and xy, signed (a cell may hold removals).

    ``sx``, ``sy`` are in units of 2^-scale and ``sxx``, ``syy``, ``sxy`` in units of
    2^-2 scale; ``scale`` is always the smallest that makes every sum an integer, so equal
    multisets have equal ``PowerSums`` whatever order built them.
    """

    n: int = 0
    scale: int = 0
    sx: int = 0
    sy: int = 0
    sxx: int = 0
    syy: int = 0
    sxy: int = 0

    @classmethod
    def point(cls, x: float, y: float) -> PowerSums:
        """The sums of one pair; raises ValueError or OverflowError on nan or infinity."""
        px, ex = _dyadic(x)
        py, ey = _dyadic(y)
        k = max(ex, ey)
        a = px << (k - ex)
        b = py << (k - ey)
        return _canonical(1, k, a, b, a * a, b * b, a * b)

    def _sums_at(self, k: int) -> tuple[int, int, int, int, int]:
        shift = k - self.scale
        if shift == 0:
            return self.sx, self.sy, self.sxx, self.syy, self.sxy
        double = 2 * shift
        return (
            self.sx << shift,
            self.sy << shift,
            self.sxx << double,
            self.syy << double,
            self.sxy << double,
        )

    def __add__(self, other: PowerSums) -> PowerSums:
        if other.n == 0 and other == EMPTY:
            return self
        k = max(self.scale, other.scale)
        a = self._sums_at(k)
        b = other._sums_at(k)
        return _canonical(
            self.n + other.n,
            k,
            a[0] + b[0],
            a[1] + b[1],
            a[2] + b[2],
            a[3] + b[3],
            a[4] + b[4],
        )

    def __neg__(self) -> PowerSums:
        return PowerSums(-self.n, self.scale, -self.sx, -self.sy, -self.sxx, -self.syy, -self.sxy)

    def __sub__(self, other: PowerSums) -> PowerSums:
        return self + (-other)

    def with_y(self, c: float) -> PowerSums:
        """The exact sums of the same points with every y replaced by ``c``: what winsorizing
        a group of points above a cap leaves (``stats/capping.py``)."""
        pc, ec = _dyadic(c)
        k = max(self.scale, ec)
        up = k - self.scale
        lift = k - ec
        return _canonical(
            self.n,
            k,
            self.sx << up,
            (self.n * pc) << lift,
            self.sxx << (2 * up),
            (self.n * pc * pc) << (2 * lift),
            (pc * self.sx) << (2 * k - ec - self.scale),
        )

    def comoments(self) -> CoMoments:
        """n, means, M2 of x and y and C_xy, each the correctly rounded exact value.

        Raises ``InconsistentSums`` for a negative n or a negative M2; an OverflowError when
        a moment exceeds the range of a double.
        """
        n = self.n
        if n < 0:
            raise InconsistentSums(f"a negative count, {n}")
        if n == 0:
            if self != EMPTY:
                raise InconsistentSums("no points but non-zero sums")
            return CoMoments()
        linear = n << self.scale
        quadratic = n << (2 * self.scale)
        m2_x = n * self.sxx - self.sx * self.sx
        m2_y = n * self.syy - self.sy * self.sy
        if m2_x < 0 or m2_y < 0:
            raise InconsistentSums("a negative sum of squared deviations")
        return CoMoments(
            n,
            self.sx / linear,
            self.sy / linear,
            m2_x / quadratic,
            m2_y / quadratic,
            (n * self.sxy - self.sx * self.sy) / quadratic,
        )

    def to_json(self) -> dict[str, int | str]:
        # JSON readers (orjson among them) stop at 64-bit integers; the sums are often wider.
        return {
            "n": self.n,
            "k": self.scale,
            "sx": format(self.sx, "x"),
            "sy": format(self.sy, "x"),
            "sxx": format(self.sxx, "x"),
            "syy": format(self.syy, "x"),
            "sxy": format(self.sxy, "x"),
        }

    @classmethod
    def from_json(cls, data: dict[str, int | str]) -> PowerSums:
        scale = int(data["k"])
        if scale < 0:
            raise ValueError(f"a negative scale, {scale}")
        return _canonical(
            int(data["n"]),
            scale,
            int(str(data["sx"]), 16),
            int(str(data["sy"]), 16),
            int(str(data["sxx"]), 16),
            int(str(data["syy"]), 16),
            int(str(data["sxy"]), 16),
        )


EMPTY = PowerSums()


def _canonical(n: int, k: int, sx: int, sy: int, sxx: int, syy: int, sxy: int) -> PowerSums:
    """The same sums at the smallest scale that keeps them integers."""
    if k:
        linear = min(_twos(sx), _twos(sy))
        quadratic = min(_twos(sxx), _twos(syy), _twos(sxy)) // 2
        drop = min(k, linear, quadratic)
        if drop:
            double = 2 * drop
            return PowerSums(
                n, k - drop, sx >> drop, sy >> drop, sxx >> double, syy >> double, sxy >> double
            )
    return PowerSums(n, k, sx, sy, sxx, syy, sxy)
