"""The pre-exposure balance check against scipy's Welch test on the raw covariates."""

from __future__ import annotations

from functools import reduce

import numpy as np
import pytest
from scipy import stats

from shared.domain.stats.balance import covariate_balance
from shared.domain.stats.comoments import CoMoments
from shared.domain.stats.vocabulary import Reason


def arm(x: np.ndarray) -> CoMoments:
    return reduce(lambda c, v: c.push(float(v), 0.0), x, CoMoments())


@pytest.mark.parametrize(("shift", "flagged"), [(0.0, False), (1.0, True)])
def test_matches_scipy_and_flags_only_beyond_chance(shift: float, flagged: bool) -> None:
    rng = np.random.default_rng(8)
    control, treated = rng.normal(10, 2, 500), rng.normal(10 + shift, 2, 500)
    balance = covariate_balance(arm(control), arm(treated))
    reference = stats.ttest_ind(treated, control, equal_var=False)
    assert balance.p_value == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-300)
    assert balance.difference == pytest.approx(treated.mean() - control.mean(), rel=1e-12)
    assert balance.imbalanced is flagged


def test_a_covariate_without_spread_is_not_tested() -> None:
    zero = arm(np.zeros(50))
    balance = covariate_balance(zero, zero)
    assert balance.reason is Reason.ZERO_VARIANCE and not balance.imbalanced
