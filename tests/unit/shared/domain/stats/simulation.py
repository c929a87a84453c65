"""Test-only: a vectorised Welch p-value for simulations over many looks at once.

Checked against ``shared.domain.stats.welch.welch`` in ``test_welch.py``; the
production code never needs a vectorised twin."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import stats  # type: ignore[import-untyped]

from shared.domain.stats.vocabulary import Alternative

FloatArray = npt.NDArray[np.float64]


def welch_p_values(
    n_c: FloatArray,
    mean_c: FloatArray,
    var_c: FloatArray,
    n_t: FloatArray,
    mean_t: FloatArray,
    var_t: FloatArray,
    alternative: Alternative = Alternative.TWO_SIDED,
) -> FloatArray:
    """Vectorised twin of ``welch(...).p_value`` for simulations over many looks at once."""
    a = var_t / n_t
    b = var_c / n_c
    t = (mean_t - mean_c) / np.sqrt(a + b)
    dof = (a + b) ** 2 / (a * a / (n_t - 1.0) + b * b / (n_c - 1.0))
    if alternative is Alternative.GREATER:
        return np.asarray(stats.t.sf(t, dof), dtype=np.float64)
    if alternative is Alternative.LESS:
        return np.asarray(stats.t.cdf(t, dof), dtype=np.float64)
    return np.minimum(1.0, 2.0 * np.asarray(stats.t.sf(np.abs(t), dof), dtype=np.float64))
