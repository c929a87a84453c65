"""Holm, Bonferroni and Benjamini-Hochberg against statsmodels' multipletests.

Tolerance 1e-9 relative: the same step-down / step-up recursions, with multiplications done in
another order.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from shared.domain.stats.multiple import (
    Correction,
    adjust,
    benjamini_hochberg,
    bonferroni,
    holm,
)

p_values = st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=40)
STATSMODELS = {
    Correction.BONFERRONI: "bonferroni",
    Correction.HOLM: "holm",
    Correction.BENJAMINI_HOCHBERG: "fdr_bh",
}


@settings(max_examples=100, deadline=None)
@given(p_values, st.sampled_from(list(Correction)), st.sampled_from([0.01, 0.05, 0.1]))
def test_matches_statsmodels(p: list[float], correction: Correction, alpha: float) -> None:
    result = adjust(p, correction, alpha=alpha)
    rejected, corrected, _, _ = multipletests(p, alpha=alpha, method=STATSMODELS[correction])
    assert result.p_values == pytest.approx(list(corrected), rel=1e-9, abs=1e-15)
    for ours, theirs, adjusted in zip(result.rejected, rejected, result.p_values, strict=True):
        # statsmodels decides on p <= alpha * factor, we on the adjusted p <= alpha; the two
        # can differ only for an adjusted p within rounding of alpha itself.
        if abs(adjusted - alpha) > 1e-12:
            assert ours == bool(theirs)


def test_values_stay_in_input_order() -> None:
    p = [0.04, 0.001, 0.03, 0.5]
    assert bonferroni(p) == pytest.approx((0.16, 0.004, 0.12, 1.0))
    assert holm(p) == pytest.approx((0.09, 0.004, 0.09, 0.5))
    assert benjamini_hochberg(p) == pytest.approx((0.0533333333, 0.004, 0.0533333333, 0.5))


def test_rejections_at_alpha() -> None:
    result = adjust([0.04, 0.001, 0.03, 0.5], Correction.BENJAMINI_HOCHBERG, alpha=0.06)
    assert result.rejected == (True, True, True, False)
    assert adjust([], Correction.HOLM).p_values == ()


def test_p_values_outside_the_unit_interval_are_an_error() -> None:
    with pytest.raises(ValueError):
        holm([0.2, 1.5])
