"""From one entity's metric events to exact per-bucket statistics cells: pure functions.

The unit of analysis is the entity. For each (experiment, entity) the
processor keeps an ``EntityState`` (``entity.py``): its treatment, its first
exposure, and bounded per-bucket sums of its metric values. Everything else is
derived from that state:

- the covariate x of a metric is the sum of the entity's values in the window
  before its exposure (CUPED's pre-period metric, ``CellPlan.covariate_seconds``,
  14 days unless the experiment says otherwise), the exposure's whole second
  included on the "after" side;
- its outcome y is the sum of its values from exposure on; an exposed entity
  with no events counts, with y = 0;
- its *timeline* lists (bucket, x, y) at exposure and at every bucket in which
  y changed, y being cumulative.

Aggregates are kept per bucket as the exact power sums of (x, y) points
(``stats/sums.py``): a timeline adds each point at its bucket and removes the
previous point there. The cumulative aggregate at bucket B is the sum of the
cells up to B. When an entity's state changes, the old timeline's cells are
undone and the new one's applied; the sums are exact, so late or out-of-order
events, a late exposure, or a changed treatment all leave the cells exactly as
a fold of the final states would, at any offset of the values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.domain.entity import EntityState
from shared.domain.stats.comoments import CoMoments
from shared.domain.stats.sums import EMPTY, PowerSums

Point = tuple[int, float, float]  # (bucket, x, y)

DEFAULT_COVARIATE_SECONDS = 14 * 86_400.0


@dataclass(frozen=True, slots=True)
class CellPlan:
    """What the cells of one experiment measure: its metrics, and how far before exposure
    an event still counts towards CUPED's covariate."""

    metrics: tuple[str, ...]
    covariate_seconds: float = DEFAULT_COVARIATE_SECONDS


def timeline(
    state: EntityState,
    metric: str,
    bucket_seconds: int,
    covariate_seconds: float = DEFAULT_COVARIATE_SECONDS,
) -> tuple[Point, ...]:
    """The entity's contribution to ``metric`` over time; empty until it is exposed.

    Runs twice per entity change in the processor, over the entity's bounded history
    (``entity.py``), so its cost never grows with the number of events.
    """
    exposed = state.exposed_second
    if exposed is None:
        return ()
    history = state.history(metric)
    x = history.covariate(exposed - covariate_seconds, exposed)
    # Rows keep their own bucket size; a processor configured otherwise maps them.
    scale = state.bucket_seconds
    last = exposed // bucket_seconds
    points: list[Point] = [(last, x, 0.0)]
    y = 0.0
    for bucket, v in history.after:
        y += v
        b = max(bucket * scale // bucket_seconds, last)
        if b == last:
            points[-1] = (b, x, y)
        else:
            points.append((b, x, y))
            last = b
    return tuple(points)


CellKey = tuple[str, str, int]  # (metric, treatment, bucket)


@dataclass(slots=True)
class Cell:
    """One bucket's net contribution: points added there minus points removed there.

    Exact (``PowerSums``), so the cumulative aggregate at bucket B, the sum of the cells up
    to B, is the exact aggregate of the entities' points at B whatever order the additions
    and removals came in. A cell's own count may be zero or its sums negative: a bucket in
    which an entity's outcome changed removes its old point and adds its new one.
    """

    sums: PowerSums = EMPTY
    conversions: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"sums": self.sums.to_json(), "conversions": self.conversions}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cell:
        return cls(PowerSums.from_json(data["sums"]), int(data["conversions"]))


def delta_representation(
    points: Sequence[Point], start: int = 0
) -> Iterable[tuple[int, Point, int]]:
    """(bucket, contribution, sign) entries whose per-bucket sums rebuild the timeline.

    Point i contributes itself (+1) and the removal of point i-1 (-1), both at its
    bucket; ``start`` skips the entries of the points before it.
    """
    for i in range(start, len(points)):
        point = points[i]
        yield point[0], point, 1
        if i > 0:
            yield point[0], points[i - 1], -1


def shared_prefix(old: Sequence[Point], new: Sequence[Point]) -> int:
    """How many leading points two timelines have in common."""
    count = 0
    for a, b in zip(old, new, strict=False):
        if a != b:
            break
        count += 1
    return count


def apply_timeline(
    cells: dict[CellKey, Cell],
    metric: str,
    treatment: str,
    points: Sequence[Point],
    sign: int,
    start: int = 0,
) -> set[CellKey]:
    """Apply (sign=+1) or undo (sign=-1) one timeline from point ``start`` on; returns the
    cells touched."""
    touched: set[CellKey] = set()
    for b, (_, x, y), entry_sign in delta_representation(points, start):
        key = (metric, treatment, b)
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = Cell()
        one = PowerSums.point(x, y)
        direction = sign * entry_sign
        cell.sums = cell.sums + one if direction > 0 else cell.sums - one
        if y > 0:
            cell.conversions += direction
        touched.add(key)
    return touched


def contribute(
    cells: dict[CellKey, Cell],
    plan: CellPlan,
    before: EntityState | None,
    after: EntityState,
    bucket_seconds: int,
) -> set[CellKey]:
    """Move one entity's contribution from ``before`` to ``after``; the cells touched."""
    touched: set[CellKey] = set()
    window = plan.covariate_seconds
    for metric in plan.metrics:
        old = timeline(before, metric, bucket_seconds, window) if before is not None else ()
        new = timeline(after, metric, bucket_seconds, window)
        old_treatment = before.treatment if before is not None else None
        if old == new and old_treatment == after.treatment:
            continue
        # Entries of a shared leading run of points are the same in both timelines
        # (entry i depends on points i and i-1 only), so only what follows moves: a new
        # event touches its own bucket, not the entity's whole history.
        start = shared_prefix(old, new) if old_treatment == after.treatment else 0
        if old and old_treatment is not None:
            touched |= apply_timeline(cells, metric, old_treatment, old, -1, start)
        if new and after.treatment is not None:
            touched |= apply_timeline(cells, metric, after.treatment, new, +1, start)
    return touched


@dataclass(frozen=True, slots=True)
class Cumulative:
    comoments: CoMoments
    conversions: int


def cumulative(cells: Iterable[Cell]) -> Cumulative:
    """The aggregate over the given buckets: the sum of their cells, exact.

    Raises ``InconsistentSums`` if the cells describe no multiset of points.
    """
    sums = EMPTY
    conversions = 0
    for cell in cells:
        sums = sums + cell.sums
        conversions += cell.conversions
    return Cumulative(sums.comoments(), conversions)


def merge_cell(into: Cell, other: Cell, sign: int) -> None:
    """Add (sign=+1) or take out (sign=-1) one partition's cell from a merged cell."""
    into.sums = into.sums + other.sums if sign > 0 else into.sums - other.sums
    into.conversions += sign * other.conversions


def cumulative_series(cells: Mapping[int, Cell], cutoffs: Sequence[int]) -> list[Cumulative]:
    """The cumulative aggregate at each cutoff (buckets below it), in one pass over buckets.

    Cost follows buckets and looks, never the number of events.
    """
    ordered = sorted(cells.items())
    sums = EMPTY
    conversions = 0
    i = 0
    out: list[Cumulative] = []
    for cutoff in cutoffs:
        while i < len(ordered) and ordered[i][0] < cutoff:
            cell = ordered[i][1]
            sums = sums + cell.sums
            conversions += cell.conversions
            i += 1
        out.append(Cumulative(sums.comoments(), conversions))
    return out
