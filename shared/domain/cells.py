"""From one entity's metric events to exact per-bucket statistics cells: pure functions.

The unit of analysis is the entity. For each (experiment, entity) the
processor keeps an ``EntityState``: its treatment, its first exposure, and the
metric events it produced. Everything else is derived from that state:

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

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.domain.stats.comoments import CoMoments
from shared.domain.stats.sums import EMPTY, PowerSums

Event = tuple[float, float, int]  # (timestamp, value, event id hash)


@dataclass(frozen=True, slots=True)
class EntityState:
    treatment: str | None = None
    exposed_at: float | None = None
    events: Mapping[str, tuple[Event, ...]] = field(default_factory=dict)

    def with_exposure(self, treatment: str, at: float) -> EntityState:
        # The first exposure decides (intent to treat); a replay or a later
        # evaluation changes nothing, an earlier one that arrives late wins.
        if self.exposed_at is not None and self.exposed_at <= at:
            return self
        return EntityState(treatment, at, self.events)

    def with_event(self, metric: str, event: Event) -> EntityState:
        known = self.events.get(metric, ())
        if event[2] in [e[2] for e in known]:
            return self  # a duplicate delivery
        events = dict(self.events)
        events[metric] = (*known, event)
        return EntityState(self.treatment, self.exposed_at, events)

    def to_json(self) -> dict[str, Any]:
        return {
            "t": self.treatment,
            "x": self.exposed_at,
            "e": {m: [list(e) for e in evs] for m, evs in self.events.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EntityState:
        """Rows are only ever written by ``to_json``, whose floats and ints JSON keeps
        apart, so each event converts as it stands: this runs once per entity a
        processor batch touches, and per-field conversion was its largest cost."""
        return cls(
            data.get("t"),
            data.get("x"),
            {m: tuple(map(tuple, evs)) for m, evs in data.get("e", {}).items()},
        )


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

    Runs twice per entity change in the processor, over all of the entity's events,
    so it is one plain loop.
    """
    if state.exposed_at is None:
        return ()
    # botocore sends event timestamps in whole seconds (its default precision),
    # so an event in the same second as the exposure can carry an earlier
    # stamp; the exposure's whole second is the boundary.
    exposed = float(math.floor(state.exposed_at))
    window_start = exposed - covariate_seconds
    x = 0.0
    after: list[tuple[float, float]] = []
    for ts, v, _ in state.events.get(metric, ()):
        if ts >= exposed:
            after.append((ts, v))
        elif ts >= window_start:
            x += v
    after.sort()
    last = int(exposed // bucket_seconds)
    points: list[Point] = [(last, x, 0.0)]
    y = 0.0
    for ts, v in after:
        y += v
        b = int(ts // bucket_seconds)
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
