"""The summary of one metric's comparison as Amplitude Experiment badges it (seed 002).

- Significant / Not Significant: the adjusted p-value against alpha (stat sig met or not);
- Inconclusive: stat sig not met, so the test cannot say which way the metric went;
- Above Control / Below Control: only with stat sig, the side of control the treatment's
  mean is on, as the metric's desired change reads it (increase = above is good);
- Above Goal / Below Goal: "the primary metric's mean was either above or below its goal
  depending on the direction of the test (increase = above, decrease = below, any = above or
  below)": the treatment's (raw) mean against the metric's ``goal`` value, given whenever the
  metric has one, with or without stat sig (the seed restricts only the control badges). A
  mean exactly on the goal earns neither.
"""

from __future__ import annotations

from enum import StrEnum

from shared.domain.stats.vocabulary import DesiredChange


class Badge(StrEnum):
    SIGNIFICANT = "Significant"
    NOT_SIGNIFICANT = "Not Significant"
    INCONCLUSIVE = "Inconclusive"
    ABOVE_CONTROL = "Above Control"
    BELOW_CONTROL = "Below Control"
    ABOVE_GOAL = "Above Goal"
    BELOW_GOAL = "Below Goal"


def badges(
    adjusted_p_value: float,
    alpha: float,
    difference: float,
    mean: float | None = None,
    goal: float | None = None,
) -> tuple[Badge, ...]:
    """The badges of one comparison: ``difference`` is treatment minus control, ``mean`` the
    treatment's mean, compared with ``goal`` when both are given."""
    if not adjusted_p_value < alpha:
        earned = (Badge.NOT_SIGNIFICANT, Badge.INCONCLUSIVE)
    else:
        side = Badge.ABOVE_CONTROL if difference > 0 else Badge.BELOW_CONTROL
        earned = (Badge.SIGNIFICANT, side)
    if mean is None or goal is None or mean == goal:
        return earned
    return (*earned, Badge.ABOVE_GOAL if mean > goal else Badge.BELOW_GOAL)


def good(badge_set: tuple[Badge, ...], desired_change: DesiredChange | str) -> bool | None:
    """Whether the significant side is the one the metric wants; None without stat sig."""
    if Badge.SIGNIFICANT not in badge_set:
        return None
    above = Badge.ABOVE_CONTROL in badge_set
    return above if DesiredChange(desired_change) is DesiredChange.INCREASE else not above


def goal_met(badge_set: tuple[Badge, ...], desired_change: DesiredChange | str) -> bool | None:
    """Whether the mean is on the goal's desired side (increase = above, decrease = below);
    None without a goal badge."""
    if Badge.ABOVE_GOAL in badge_set:
        return DesiredChange(desired_change) is DesiredChange.INCREASE
    if Badge.BELOW_GOAL in badge_set:
        return DesiredChange(desired_change) is DesiredChange.DECREASE
    return None
