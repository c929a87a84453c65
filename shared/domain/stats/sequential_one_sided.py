"""One-sided always-valid test: the half-normal mixture SPRT for a difference in means.

The two-sided mSPRT (``msprt.py``; Johari, Koomen, Pekelis and Walsh, "Always valid
inference: continuous monitoring of A/B tests", arXiv 1512.04922, Operations Research 2022)
mixes the likelihood ratio over theta ~ N(0, tau^2), both signs. For H0: effect <= 0 against
H1: effect > 0 only positive effects are evidence, so the mixing distribution here is the
half-normal 2 N(0, tau^2) restricted to theta > 0: Robbins' method of mixtures (Robbins,
"Statistical methods related to the law of the iterated logarithm", Ann. Math. Statist. 41,
1970) with the one-sided normal mixture of Howard, Ramdas, McAuliffe and Sekhon,
"Time-uniform, nonparametric, nonasymptotic confidence sequences", Annals of Statistics 2021,
arXiv 1810.08240 (Section 3, normal mixtures; the ``OneSidedNormalMixture`` of their ConfSeq
library computes the same function).

Closed form. With an effect estimate d ~ N(theta, V), the likelihood ratio of theta against 0
is exp((d theta - theta^2 / 2) / V). Completing the square in theta (precision
P = 1/V + 1/tau^2, centre m = d tau^2 / (V + tau^2)) and integrating over theta > 0 gives

    Lambda = 2 sqrt(V / (V + tau^2)) exp(tau^2 d^2 / (2 V (V + tau^2))) Phi(x),
    x = tau d / sqrt(V (V + tau^2)),

that is 2 Phi(x) times the two-sided Lambda of ``msprt.log_likelihood_ratio``. With
a = x^2 / 2 (the two-sided exponent) log Lambda = log 2 - 1/2 log(1 + tau^2/V) + a + log Phi(x).

Validity. At the n-th look of equal arms d_n is the mean of n paired differences of variance
s^2 = sigma_t^2 + sigma_c^2, V_n = s^2 / n, and the ratio for each theta > 0 is
exp(theta S_n / s^2 - n theta^2 / (2 s^2)), S_n the sum of the differences. When the true
effect mu is 0 each such ratio is a martingale of mean 1; when mu < 0 each step has mean
exp(theta mu / s^2) <= 1, a supermartingale. tau^2 = rho^2 N V_n does not move as the data
grow (N V_n = 2 s^2 with N = 2n; constant for any fixed allocation ratio), so by Fubini
Lambda_n is a nonnegative (super)martingale with Lambda_0 = 1 under every effect <= 0, and
Ville's inequality (Ville, "Etude critique de la notion de collectif", 1939) gives
P(Lambda_n >= 1/alpha for some n) <= alpha. Hence p_n = min(1, 1 / Lambda_n) is an
always-valid p-value for the composite H0, reported as its running minimum
(``msprt.running_p_values``). As in ``msprt.py`` the plug-in variance makes the guarantee
asymptotic.

Confidence sequence. With x = k d, k = tau / sqrt(V (V + tau^2)) > 0, d log Lambda / dd =
k (x + phi(x) / Phi(x)) > 0, since phi(x) / Phi(x) > -x for every x (Mills' ratio); so Lambda
increases in d, from 0 to infinity. Testing H0: effect <= theta0 uses Lambda at d - theta0,
and the set of theta0 not rejected at alpha is (d - u, +inf), u the unique root of
log Lambda(u) = log(1/alpha); u depends on V, tau^2 and alpha only, and is found by
``scipy.optimize.brentq``. The
sequence's running intersection (``msprt.running_intersection``) is the running maximum of
the lower bounds. For "less" the test is the mirror: Lambda at -d, interval (-inf, d + u).

gbstats. GrowthBook's ``SequentialOneSidedTreatmentGreaterTTest`` / ``...LesserTTest``
(``packages/stats/gbstats/frequentist/tests.py``) tune rho at 2 alpha
(``sequential_rho(..., two_sided=False)``, as ConfSeq's ``OneSidedNormalMixture.best_rho``)
and bound the interval with eq. (134) of Waudby-Smith et al., "Time-uniform central limit
theory and asymptotic confidence sequences", arXiv 2103.06476v7:

    u_cf^2 = V (V + tau^2) / tau^2 * 2 log(1 + sqrt((V + tau^2) / V) / (2 alpha)),

the closed-form upper bound on the root u of this same half-normal mixture, and find the
p-value by bisection on alpha until that bound touches zero, clipped to [1e-5, 0.4999]; with
rho fixed the bisection has the closed form p_cf = sqrt(1 + tau^2/V) / (2 expm1(a)). The bound
is conservative: with c = sqrt(1 + tau^2/V) Lambda = (2/c) e^a Phi(x), and the Gaussian tail
bound 1 - Phi(x) <= e^{-x^2/2} / 2 for x >= 0 (e^{x^2/2} (1 - Phi(x)) decreases there, by
Mills' ratio) gives Lambda >= (2/c)(e^a - 1/2) > 2 expm1(a) / c, that is 1/Lambda < p_cf
everywhere and Lambda(u_cf) > 1/alpha. So gbstats' construction is always valid too, only
wider: at alpha = 0.05 by 0.5% of the half-width at N* observations, 1.6% at N*/50. The
default here is the exact root, the tightest set this mixture certifies; ``closed_form=True``
reproduces gbstats' interval and (unclipped) p-value.
The shortcut "the two-sided boundary at 2 alpha" is not offered: since Lambda_one = 2 Phi(x)
Lambda_two < 2 Lambda_two, that boundary lies inside the root u and Ville's inequality does
not certify it at level alpha.
"""

from __future__ import annotations

import math
from functools import lru_cache

from scipy import optimize, special  # type: ignore[import-untyped]

from shared.domain.stats.mixture import DEFAULT_N_STAR, mixing_rho2
from shared.domain.stats.vocabulary import Alternative, Interval

_LOG_2 = math.log(2.0)
_SQRT_2 = math.sqrt(2.0)


def one_sided_rho2(alpha: float, n_star: float = DEFAULT_N_STAR) -> float:
    """rho^2 for the one-sided mixture: ``mixing_rho2`` at 2 alpha (Howard et al. 2021).

    The half-normal mixture's boundary is close to the two-sided one at 2 alpha, so the tuning
    that makes that one tightest near N* observations (both arms) serves here; gbstats
    (``sequential_rho(..., two_sided=False)``) and ConfSeq tune the one-sided mixture the same
    way. Needs alpha < 1/2, as gbstats does.
    """
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"a one-sided sequential test needs 0 < alpha < 0.5, got {alpha}")
    return mixing_rho2(2.0 * alpha, n_star)


def _check(v: float, tau2: float) -> None:
    if not (v > 0.0 and math.isfinite(v)):
        raise ValueError(f"the variance V must be positive and finite, got {v}")
    if not (tau2 > 0.0 and math.isfinite(tau2)):
        raise ValueError(f"the mixing variance tau^2 must be positive and finite, got {tau2}")


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}")


def _log_tilted_ndtr(x: float) -> float:
    """log(e^{x^2/2} Phi(x)), the x-dependent part of log Lambda.

    For x < 0 the two terms are large and of opposite sign; the scaled complementary error
    function erfcx(t) = e^{t^2} erfc(t) keeps their difference exact there.
    """
    if x < 0.0:
        return math.log(0.5 * float(special.erfcx(-x / _SQRT_2)))
    return 0.5 * x * x + float(special.log_ndtr(x))


def one_sided_log_likelihood_ratio(d: float, v: float, tau2: float) -> float:
    """log Lambda of the half-normal mixture on effect > 0 (derived in the module docstring).

    log Lambda = log 2 - 1/2 log(1 + tau^2/V) + x^2/2 + log Phi(x), x = tau d / sqrt(V (V +
    tau^2)). For "less" pass -d.
    """
    _check(v, tau2)
    x = d * math.sqrt(tau2 / (v * (v + tau2)))
    return _LOG_2 - 0.5 * math.log1p(tau2 / v) + _log_tilted_ndtr(x)


def one_sided_p_value(d: float, v: float, tau2: float) -> float:
    """p = min(1, 1/Lambda) for H0: effect <= 0, valid at this look (Ville 1939)."""
    return math.exp(min(0.0, -one_sided_log_likelihood_ratio(d, v, tau2)))


@lru_cache(maxsize=4096)
def _root_multiplier(r: float, alpha: float) -> float:
    """u / sqrt(V) where log Lambda(u) = log(1/alpha), as a function of r = tau^2 / V.

    Solved in x = u sqrt(r / (V (1 + r))), where log Lambda = log 2 - 1/2 log1p(r) +
    _log_tilted_ndtr(x). The bracket: _log_tilted_ndtr(x) <= x^2/2 for x >= 0, so the root
    is at least sqrt(2 t); gbstats' closed form sits above it (module docstring).
    """
    target = math.log(1.0 / alpha) - _LOG_2 + 0.5 * math.log1p(r)
    # target > -log 2 = _log_tilted_ndtr(0) for any alpha < 1, so x = 0 is below the root.
    low = math.sqrt(2.0 * max(target, 0.0))
    high = math.sqrt(2.0 * math.log1p(math.sqrt(1.0 + r) / (2.0 * alpha)))

    def gap(x: float) -> float:
        return _log_tilted_ndtr(x) - target

    x = float(optimize.brentq(gap, low, high, xtol=1e-15, rtol=1e-15))
    return x * math.sqrt((1.0 + r) / r)


def one_sided_half_width(v: float, tau2: float, alpha: float) -> float:
    """u with Lambda(u) = 1/alpha: the lower bound for "greater" is d - u (exact root).

    Lambda is increasing in d (module docstring), so {theta0 : Lambda(d - theta0) < 1/alpha}
    is the half-line (d - u, +inf).
    """
    _check(v, tau2)
    _check_alpha(alpha)
    return math.sqrt(v) * _root_multiplier(tau2 / v, alpha)


def one_sided_half_width_closed_form(v: float, tau2: float, alpha: float) -> float:
    """gbstats' one-sided half-width, eq. (134) of Waudby-Smith et al. arXiv 2103.06476v7.

    u_cf^2 = V (V + tau^2) / tau^2 * 2 log(1 + sqrt((V + tau^2) / V) / (2 alpha)); an upper
    bound on ``one_sided_half_width`` (Gaussian tail bound, module docstring), so the interval
    it gives is wider and still always valid.
    """
    _check(v, tau2)
    _check_alpha(alpha)
    r = tau2 / v
    return math.sqrt(v * (1.0 + r) / r * 2.0 * math.log1p(math.sqrt(1.0 + r) / (2.0 * alpha)))


def one_sided_p_value_closed_form(d: float, v: float, tau2: float) -> float:
    """The p-value that inverts ``one_sided_half_width_closed_form`` at fixed tau^2.

    p_cf = min(1, sqrt(1 + tau^2/V) / (2 expm1(a))), a = tau^2 d^2 / (2 V (V + tau^2)) for
    d > 0, else 1: what gbstats finds by bisection over alpha, without its [1e-5, 0.4999]
    clipping. p_cf > 1/Lambda (module docstring), so it is valid wherever that one is.
    """
    _check(v, tau2)
    r = tau2 / v
    a = r * d * d / (2.0 * v * (1.0 + r))
    # a underflows to 0 for d within ~1e-154 sd of zero, where p_cf is infinite anyway.
    if not (d > 0.0 and a > 0.0):
        return 1.0
    # log(expm1(a)) = a + log(1 - e^{-a}): no overflow for large a, no cancellation for small.
    log_p = 0.5 * math.log1p(r) - _LOG_2 - a - math.log(-math.expm1(-a))
    return math.exp(min(0.0, log_p))


def one_sided_bound(d: float, v: float, tau2: float, alpha: float) -> float:
    """L = d - u: the smallest effect the "greater" test does not reject at alpha.

    The confidence sequence at this look is (L, +inf); for "less" it is (-inf, d + u).
    """
    return d - one_sided_half_width(v, tau2, alpha)


def one_sided_msprt_effect(
    d: float,
    v: float,
    rho2: float,
    n: float,
    alpha: float,
    alternative: Alternative,
    *,
    closed_form: bool = False,
) -> tuple[float, Interval]:
    """(p-value, confidence set) of the one-sided mSPRT at one look.

    ``d`` is treatment minus control, ``v`` its variance V, ``n`` = n_c + n_t, and tau^2 =
    rho^2 n V as in ``msprt.msprt``; pass ``rho2 = one_sided_rho2(alpha, n_star)`` to tune as
    gbstats does. "greater" tests H0: effect <= 0 and returns (L, +inf); "less" tests
    H0: effect >= 0 and returns (-inf, U). p < alpha exactly when the interval excludes 0.
    ``closed_form`` switches to gbstats' wider, closed-form interval and its p-value. Report
    the running minimum of p and the running intersection of the intervals over looks.
    """
    if alternative is Alternative.TWO_SIDED:
        raise ValueError("use msprt.msprt for the two-sided test")
    _check_alpha(alpha)
    tau2 = rho2 * n * v
    sign = 1.0 if alternative is Alternative.GREATER else -1.0
    if closed_form:
        p_value = one_sided_p_value_closed_form(sign * d, v, tau2)
        u = one_sided_half_width_closed_form(v, tau2, alpha)
    else:
        p_value = one_sided_p_value(sign * d, v, tau2)
        u = one_sided_half_width(v, tau2, alpha)
    if alternative is Alternative.GREATER:
        return p_value, Interval(d - u, math.inf)
    return p_value, Interval(-math.inf, d + u)
