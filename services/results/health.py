"""The report's experiment-level health checks on exposure: what each found and what it means.

- Assignment without exposure (with an exposure event): entities evaluated into a treatment
  but never exposed are counted per treatment and left out of the analysis (seed 002: "this
  user should not be considered to be part of the experiment").
- Multiple exposures: entities assigned two different treatments (weights or stickiness
  changed mid-experiment) keep their first and are counted; GrowthBook warns when they pass
  1% of the entities (its ``multipleExposureMinPercent`` default), and so does Verdict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MULTIPLE_EXPOSURES_SHARE = 0.01


def assigned_without_exposure(
    assigned: Mapping[str, int], exposed: Mapping[str, int], by_event: bool
) -> dict[str, Any]:
    if not by_event:
        return {
            "applies": False,
            "meaning": "no exposure event is set: an entity is exposed when it is evaluated,"
            " so every assigned entity is analysed",
        }
    per = {
        t: {"assigned": assigned[t], "exposed": exposed[t], "unexposed": assigned[t] - exposed[t]}
        for t in assigned
    }
    total = sum(assigned.values())
    unexposed = sum(v["unexposed"] for v in per.values())
    return {
        "applies": True,
        "treatments": per,
        "unexposed": unexposed,
        "share": unexposed / total if total else 0.0,
        "meaning": "entities evaluated into a treatment that never fired the exposure event:"
        " they are reported here and left out of the analysis; a share that differs much"
        " between treatments means the treatment changes who gets exposed",
    }


def multiple_exposures(crossed: Mapping[str, int], assigned: Mapping[str, int]) -> dict[str, Any]:
    total = sum(assigned.values())
    count = sum(crossed.values())
    share = count / total if total else 0.0
    flagged = share > MULTIPLE_EXPOSURES_SHARE
    return {
        "treatments": dict(crossed),
        "entities": count,
        "share": share,
        "threshold": MULTIPLE_EXPOSURES_SHARE,
        "flagged": flagged,
        "meaning": (
            "more than 1% of the entities were assigned two treatments (weights, the"
            " audience or stickiness changed while running): each counts in its first"
            " treatment, and the comparison is diluted"
            if flagged
            else "entities assigned two treatments are few enough not to dilute the comparison"
        ),
    }


def exposure_checks(
    treatments: Sequence[str],
    assigned: Mapping[str, int],
    exposed: Mapping[str, int],
    crossed: Mapping[str, int],
    by_event: bool,
) -> dict[str, Any]:
    """Both checks; ``assigned`` counts every assigned entity when an exposure event is set
    (otherwise the exposed are the assigned)."""
    everyone = assigned if by_event else exposed
    return {
        "assignedWithoutExposure": assigned_without_exposure(
            {t: everyone[t] for t in treatments}, exposed, by_event
        ),
        "multipleExposures": multiple_exposures(
            {t: crossed[t] for t in treatments}, {t: everyone[t] for t in treatments}
        ),
    }
