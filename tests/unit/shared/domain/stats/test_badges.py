"""Amplitude's badges from the adjusted p-value and the side of control."""

from __future__ import annotations

import pytest

from shared.domain.stats.badges import Badge, badges, good


@pytest.mark.parametrize(
    ("p", "difference", "expected"),
    [
        (0.01, 2.0, (Badge.SIGNIFICANT, Badge.ABOVE_CONTROL)),
        (0.01, -2.0, (Badge.SIGNIFICANT, Badge.BELOW_CONTROL)),
        (0.05, 2.0, (Badge.NOT_SIGNIFICANT, Badge.INCONCLUSIVE)),  # p = alpha is not below
        (0.30, -2.0, (Badge.NOT_SIGNIFICANT, Badge.INCONCLUSIVE)),
    ],
)
def test_badges(p: float, difference: float, expected: tuple[Badge, ...]) -> None:
    assert badges(p, 0.05, difference) == expected


def test_the_desired_side_reads_the_metrics_desired_change() -> None:
    above = badges(0.001, 0.05, 1.0)
    below = badges(0.001, 0.05, -1.0)
    assert good(above, "INCREASE") is True and good(below, "INCREASE") is False
    assert good(below, "DECREASE") is True and good(above, "DECREASE") is False
    assert good(badges(0.5, 0.05, 1.0), "INCREASE") is None
