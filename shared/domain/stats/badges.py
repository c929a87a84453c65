"""The summary of one metric's comparison as Amplitude Experiment badges it (seed 002).

- Significant / Not Significant: the adjusted p-value against alpha (stat sig met or not);
- Inconclusive: stat sig not met, so the test cannot say which way the metric went;
- Above Control / Below Control: only with stat sig, the side of control the treatment's
  mean is on, as the metric's desired change reads it (increase = above is good);
- Above Goal / Below Goal need a goal value per metric, which experiments do not carry
  yet, so they are not given.
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


def badges(adjusted_p_value: float, alpha: float, difference: float) -> tuple[Badge, ...]:
    """The badges of one comparison: ``difference`` is treatment minus control."""
    if not adjusted_p_value < alpha:
        return (Badge.NOT_SIGNIFICANT, Badge.INCONCLUSIVE)
    side = Badge.ABOVE_CONTROL if difference > 0 else Badge.BELOW_CONTROL
    return (Badge.SIGNIFICANT, side)


def good(badge_set: tuple[Badge, ...], desired_change: DesiredChange | str) -> bool | None:
    """Whether the significant side is the one the metric wants; None without stat sig."""
    if Badge.SIGNIFICANT not in badge_set:
        return None
    above = Badge.ABOVE_CONTROL in badge_set
    return above if DesiredChange(desired_change) is DesiredChange.INCREASE else not above
