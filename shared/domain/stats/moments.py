"""Running moments: count, mean and M2 (the sum of squared deviations).

Welford, "Note on a method for calculating corrected sums of squares and
products", Technometrics 4(3), 1962 (push); Chan, Golub and LeVeque,
"Updating formulae and a pairwise algorithm for computing sample variances",
1979, eq. 2.1 (merge). Cells that must also remove points keep exact sums instead
(``sums.py``): the inverse merge cancels catastrophically far from the mean.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Moments:
    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    @property
    def variance(self) -> float:
        """Unbiased sample variance; 0 below two observations."""
        return self.m2 / (self.n - 1) if self.n > 1 else 0.0

    @property
    def total(self) -> float:
        return self.n * self.mean

    def push(self, x: float) -> Moments:
        """Welford (1962): add one observation."""
        n = self.n + 1
        delta = x - self.mean
        mean = self.mean + delta / n
        return Moments(n, mean, self.m2 + delta * (x - mean))

    def merge(self, other: Moments) -> Moments:
        """Chan, Golub and LeVeque (1979), eq. 2.1: combine two disjoint samples."""
        if other.n == 0:
            return self
        if self.n == 0:
            return other
        n = self.n + other.n
        delta = other.mean - self.mean
        mean = self.mean + delta * other.n / n
        m2 = self.m2 + other.m2 + delta * delta * self.n * other.n / n
        return Moments(n, mean, m2)

    def to_json(self) -> dict[str, float | int]:
        return {"n": self.n, "mean": self.mean, "m2": self.m2}

    @classmethod
    def from_json(cls, data: dict[str, float | int]) -> Moments:
        return cls(int(data["n"]), float(data["mean"]), float(data["m2"]))
