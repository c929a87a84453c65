"""From one entity's metric events to exact per-bucket statistics cells: pure functions.

The unit of analysis is the entity. For each (experiment, entity) the
processor keeps an ``EntityState``: its treatment, its first exposure, and the
metric events it produced. Everything else is derived from that state:

- the covariate x of a metric is the sum of the entity's values before its
  exposure (CUPED's pre-period metric), the exposure's whole second included
  on the "after" side;
- its outcome y is the sum of its values from exposure on; an exposed entity
  with no events counts, with y = 0;
- its *timeline* lists (bucket, x, y) at exposure and at every bucket in which
  y changed, y being cumulative.

Aggregates are kept per bucket as two multisets of (x, y) contributions,
``added`` and ``removed``: a timeline adds each point at its bucket and
removes the previous point there. The cumulative aggregate at bucket B is
everything added up to B minus everything removed up to B (Chan et al.'s merge
and its inverse). When an entity's state changes, the old timeline's cells
are undone and the new one's applied, so late or out-of-order events, a late
exposure, or a changed treatment all stay exact.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from shared.domain.stats.comoments import CoMoments

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


def timeline(state: EntityState, metric: str, bucket_seconds: int) -> tuple[Point, ...]:
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
    x = 0.0
    after: list[tuple[float, float]] = []
    for ts, v, _ in state.events.get(metric, ()):
        if ts < exposed:
            x += v
        else:
            after.append((ts, v))
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
    added: CoMoments = field(default_factory=CoMoments)
    removed: CoMoments = field(default_factory=CoMoments)
    added_conversions: int = 0
    removed_conversions: int = 0

    @property
    def empty(self) -> bool:
        return self.added.n == 0 and self.removed.n == 0

    def to_json(self) -> dict[str, Any]:
        return {
            "added": self.added.to_json(),
            "removed": self.removed.to_json(),
            "addedConversions": self.added_conversions,
            "removedConversions": self.removed_conversions,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cell:
        return cls(
            CoMoments.from_json(data["added"]),
            CoMoments.from_json(data["removed"]),
            int(data["addedConversions"]),
            int(data["removedConversions"]),
        )


def _single(x: float, y: float) -> CoMoments:
    return CoMoments().push(x, y)


def delta_representation(
    points: Sequence[Point], start: int = 0
) -> Iterable[tuple[int, Point, bool]]:
    """(bucket, contribution, added?) pairs whose per-bucket sums rebuild the timeline.

    Point i contributes its own entry and the removal of point i-1, both at its
    bucket; ``start`` skips the entries of the points before it.
    """
    for i in range(start, len(points)):
        point = points[i]
        yield point[0], point, True
        if i > 0:
            yield point[0], points[i - 1], False


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
    for b, (_, x, y), added in delta_representation(points, start):
        key = (metric, treatment, b)
        cell = cells.setdefault(key, Cell())
        one = _single(x, y)
        converted = 1 if y > 0 else 0
        if added:
            cell.added = cell.added.merge(one) if sign > 0 else cell.added.remove(one)
            cell.added_conversions += sign * converted
        else:
            cell.removed = cell.removed.merge(one) if sign > 0 else cell.removed.remove(one)
            cell.removed_conversions += sign * converted
        touched.add(key)
    return touched


def contribute(
    cells: dict[CellKey, Cell],
    metrics: Sequence[str],
    before: EntityState | None,
    after: EntityState,
    bucket_seconds: int,
) -> set[CellKey]:
    """Move one entity's contribution from ``before`` to ``after``; the cells touched."""
    touched: set[CellKey] = set()
    for metric in metrics:
        old = timeline(before, metric, bucket_seconds) if before is not None else ()
        new = timeline(after, metric, bucket_seconds)
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
    """Everything added minus everything removed over the given buckets."""
    added = CoMoments()
    removed = CoMoments()
    conv = 0
    for cell in cells:
        added = added.merge(cell.added)
        removed = removed.merge(cell.removed)
        conv += cell.added_conversions - cell.removed_conversions
    return Cumulative(added.remove(removed), conv)


def merge_cell(into: Cell, other: Cell, sign: int) -> None:
    """Add (sign=+1) or take out (sign=-1) one partition's cell from a merged cell."""
    if sign > 0:
        into.added = into.added.merge(other.added)
        into.removed = into.removed.merge(other.removed)
    else:
        into.added = into.added.remove(other.added)
        into.removed = into.removed.remove(other.removed)
    into.added_conversions += sign * other.added_conversions
    into.removed_conversions += sign * other.removed_conversions


def cumulative_series(cells: Mapping[int, Cell], cutoffs: Sequence[int]) -> list[Cumulative]:
    """The cumulative aggregate at each cutoff (buckets below it), in one pass over buckets.

    Cost follows buckets and looks, never the number of events.
    """
    ordered = sorted(cells.items())
    added = CoMoments()
    removed = CoMoments()
    conv = 0
    i = 0
    out: list[Cumulative] = []
    for cutoff in cutoffs:
        while i < len(ordered) and ordered[i][0] < cutoff:
            cell = ordered[i][1]
            added = added.merge(cell.added)
            removed = removed.merge(cell.removed)
            conv += cell.added_conversions - cell.removed_conversions
            i += 1
        out.append(Cumulative(added.remove(removed), conv))
    return out
