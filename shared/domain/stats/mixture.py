"""The normal mixture behind the always-valid tests: its tuning, likelihood ratio and
two-sided confidence half width (Johari et al. 2022; Howard et al. 2021; see ``msprt.py``).

Kept apart from ``msprt.py`` so that the one-sided test and the power calculations build on
the same primitives without importing the test that uses them.
"""

from __future__ import annotations

import math

DEFAULT_N_STAR = 5000.0


def mixing_rho2(alpha: float, n_star: float = DEFAULT_N_STAR) -> float:
    """rho^2 = (2 log(1/alpha) + log(1 + 2 log(1/alpha))) / N* (Howard et al. 2021).

    The mixing variance per unit of per-observation variance that makes the two-sided
    normal-mixture boundary near-tightest at N* observations.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")
    if not n_star > 0.0:
        raise ValueError(f"n_star must be positive, got {n_star}")
    log_inv = 2.0 * math.log(1.0 / alpha)
    return (log_inv + math.log1p(log_inv)) / n_star


def log_likelihood_ratio(d: float, v: float, tau2: float) -> float:
    """log Lambda_n of the normal mixture N(0, tau^2) (Johari et al. 2022, normal case).

    log Lambda = 1/2 log(V / (V + tau^2)) + tau^2 d^2 / (2 V (V + tau^2)); kept in logs because
    Lambda overflows a float long before the p-value stops being meaningful.
    """
    return 0.5 * math.log(v / (v + tau2)) + tau2 * d * d / (2.0 * v * (v + tau2))


def half_width(v: float, tau2: float, alpha: float) -> float:
    """Half-width of {theta : Lambda_n(theta) < 1/alpha} (Johari et al. 2022, inverted test).

    h^2 = V (V + tau^2) / tau^2 * (2 log(1/alpha) + log((V + tau^2) / V)).
    """
    return math.sqrt(v * (v + tau2) / tau2 * (2.0 * math.log(1.0 / alpha) + math.log1p(tau2 / v)))
