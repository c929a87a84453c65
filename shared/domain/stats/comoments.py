"""Running co-moments of pairs (x, y): x a pre-exposure covariate, y the metric.

The bivariate form of Welford's update (Welford, "Note on a method for calculating corrected
sums of squares and products", Technometrics 4(3), 1962, which treats products alongside
squares) and of the pairwise merge of Chan, Golub and LeVeque, "Updating formulae and a
pairwise algorithm for computing sample variances", 1979, eq. 2.1, applied to the
co-moment C_xy = sum (x - mean_x)(y - mean_y) as in Bennett, Grout, Pebay, Roe and Thompson,
"Numerically stable, single-pass, parallel statistics algorithms", IEEE Cluster 2009
(the pairwise co-moment update).
These are CUPED's sufficient statistics (see ``cuped.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.stats.moments import Moments


@dataclass(frozen=True, slots=True)
class CoMoments:
    n: int = 0
    mean_x: float = 0.0
    mean_y: float = 0.0
    m2_x: float = 0.0
    m2_y: float = 0.0
    c_xy: float = 0.0

    @property
    def variance_x(self) -> float:
        """Unbiased sample variance of x; 0 below two observations."""
        return self.m2_x / (self.n - 1) if self.n > 1 else 0.0

    @property
    def variance_y(self) -> float:
        """Unbiased sample variance of y; 0 below two observations."""
        return self.m2_y / (self.n - 1) if self.n > 1 else 0.0

    @property
    def covariance(self) -> float:
        """Unbiased sample covariance of x and y; 0 below two observations."""
        return self.c_xy / (self.n - 1) if self.n > 1 else 0.0

    @property
    def x(self) -> Moments:
        return Moments(self.n, self.mean_x, self.m2_x)

    @property
    def y(self) -> Moments:
        return Moments(self.n, self.mean_y, self.m2_y)

    def push(self, x: float, y: float) -> CoMoments:
        """Welford (1962), bivariate: add one pair.

        C_xy gains dx * (y - mean_y'), with dx taken before and mean_y' after the update,
        which equals (n-1)/n * dx * dy and keeps the product free of cancellation.
        """
        n = self.n + 1
        dx = x - self.mean_x
        dy = y - self.mean_y
        mean_x = self.mean_x + dx / n
        mean_y = self.mean_y + dy / n
        return CoMoments(
            n,
            mean_x,
            mean_y,
            self.m2_x + dx * (x - mean_x),
            self.m2_y + dy * (y - mean_y),
            self.c_xy + dx * (y - mean_y),
        )

    def merge(self, other: CoMoments) -> CoMoments:
        """Chan, Golub and LeVeque (1979), eq. 2.1, bivariate: combine two disjoint samples.

        C_xy = C_a + C_b + dx * dy * n_a * n_b / n, with dx, dy the differences of means.
        """
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        dx = other.mean_x - self.mean_x
        dy = other.mean_y - self.mean_y
        weight = self.n * other.n / n
        return CoMoments(
            n,
            self.mean_x + dx * other.n / n,
            self.mean_y + dy * other.n / n,
            self.m2_x + other.m2_x + dx * dx * weight,
            self.m2_y + other.m2_y + dy * dy * weight,
            self.c_xy + other.c_xy + dx * dy * weight,
        )
