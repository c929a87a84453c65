"""Amplitude's badges from the adjusted p-value and the side of control."""

from __future__ import annotations

import pytest

from shared.domain.stats.badges import Badge, badges, goal_met, good


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


@pytest.mark.parametrize(
    ("p", "mean", "goal", "expected"),
    [
        (0.01, 12.0, 10.0, (Badge.SIGNIFICANT, Badge.ABOVE_CONTROL, Badge.ABOVE_GOAL)),
        (0.01, 8.0, 10.0, (Badge.SIGNIFICANT, Badge.ABOVE_CONTROL, Badge.BELOW_GOAL)),
        # The goal badges do not wait for stat sig; only the control badges do.
        (0.40, 12.0, 10.0, (Badge.NOT_SIGNIFICANT, Badge.INCONCLUSIVE, Badge.ABOVE_GOAL)),
        (0.01, 10.0, 10.0, (Badge.SIGNIFICANT, Badge.ABOVE_CONTROL)),  # on the goal: neither
        (0.01, 12.0, None, (Badge.SIGNIFICANT, Badge.ABOVE_CONTROL)),  # no goal: no badge
    ],
)
def test_goal_badges_compare_the_treatment_mean_with_the_goal(
    p: float, mean: float, goal: float | None, expected: tuple[Badge, ...]
) -> None:
    assert badges(p, 0.05, 1.0, mean, goal) == expected


def test_the_goals_desired_side_reads_the_metrics_desired_change() -> None:
    above = badges(0.5, 0.05, 1.0, 3.0, 2.0)
    below = badges(0.5, 0.05, 1.0, 1.0, 2.0)
    assert goal_met(above, "INCREASE") is True and goal_met(below, "INCREASE") is False
    assert goal_met(below, "DECREASE") is True and goal_met(above, "DECREASE") is False
    assert goal_met(badges(0.5, 0.05, 1.0), "INCREASE") is None
