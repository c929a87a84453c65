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

What an entity's (x, y) is depends on the metric's type (README, Metric types): the sum of
its values, its number of events, whether it converted (0/1, as for retention on day N and a
funnel completed in order), a difference of two other metrics; capped at an absolute value
when asked. Ratio metrics (the average of a value, a formula's ratio) keep instead the exact
sums of the 4-vector (m, d, m_pre, d_pre), numerator and denominator after and before the
exposure (``stats/vector_sums.py``), for the delta method and its CUPED. Two counts ride along
under reserved names: entities assigned (with an exposure event) and entities assigned two
treatments.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from shared.domain.entity import EntityState, Rules
from shared.domain.stats.capping import bin_of
from shared.domain.stats.comoments import CoMoments
from shared.domain.stats.sums import EMPTY, PowerSums
from shared.domain.stats.vector_sums import CoMatrix, VectorSums
from shared.domain.stats.vocabulary import FormulaOperator, MetricType

Point = tuple[int, float, float]  # (bucket, x, y)
Vector = tuple[float, float, float, float]  # (m, d, m_pre, d_pre)
VectorPoint = tuple[int, Vector]  # (bucket, vector)

DEFAULT_COVARIATE_SECONDS = 14 * 86_400.0
RATIO_DIMENSION = 4

# Reserved cell names (a metric name cannot hold U+0000: the edge refuses it).
ASSIGNED = "\x00assigned"
CROSSED = "\x00crossed"
BINNED = "\x00bin:"
OVER = "\x00over"  # suffix: entities whose number an absolute cap lowered


@dataclass(frozen=True, slots=True)
class MetricPlan:
    """How one metric goal turns an entity's history into its number."""

    name: str
    kind: MetricType = MetricType.SUM
    cap: float | None = None  # an absolute cap on the entity's number (and covariate)
    # A percentile cap: the cells also keep each point in its bin (``binned_name``).
    percentile: float | None = None
    steps: int = 0  # a funnel's number of steps
    parts: tuple[str, str] | None = None  # a formula's numerator and denominator
    operator: FormulaOperator | None = None

    @property
    def ratio(self) -> bool:
        """Whether its cells keep the 4-vector sums of a ratio of sums."""
        return self.kind is MetricType.AVERAGE or (
            self.kind is MetricType.FORMULA and self.operator is FormulaOperator.RATIO
        )


@dataclass(frozen=True, slots=True)
class CellPlan:
    """What the cells of one experiment measure: its metrics, how far before exposure an
    event still counts towards CUPED's covariate, and the entity rules (exposure event,
    windows, funnels)."""

    metrics: tuple[MetricPlan, ...]
    covariate_seconds: float = DEFAULT_COVARIATE_SECONDS
    rules: Rules = field(default_factory=Rules)

    @classmethod
    def of(
        cls, names: Iterable[str], covariate_seconds: float = DEFAULT_COVARIATE_SECONDS
    ) -> CellPlan:
        """Sums of values for every named metric: the plan before metric types existed."""
        return cls(tuple(MetricPlan(n) for n in names), covariate_seconds)

    def metric(self, name: str) -> MetricPlan | None:
        return next((m for m in self.metrics if m.name == name), None)


def binned_name(metric: str, y: float) -> str:
    """The cell name of a percentile-capped metric's points whose y falls in one bin."""
    return f"{metric}{BINNED}{bin_of(y)}"


def split_binned(name: str) -> tuple[str, int] | None:
    """(metric, bin key) of a binned cell name; None for any other name."""
    metric, sep, key = name.partition(BINNED)
    return (metric, int(key)) if sep else None


def timeline(
    state: EntityState,
    metric: str,
    bucket_seconds: int,
    covariate_seconds: float = DEFAULT_COVARIATE_SECONDS,
) -> tuple[Point, ...]:
    """A sum metric's contribution over time (``scalar_timeline`` of a default plan)."""
    return scalar_timeline(
        state, MetricPlan(metric), CellPlan((), covariate_seconds), bucket_seconds
    )


def _number(kind: MetricType, total: float, count: int) -> float:
    if kind is MetricType.COUNT:
        return float(count)
    if kind in (MetricType.UNIQUE_CONVERSIONS, MetricType.RETENTION):
        return 1.0 if count > 0 else 0.0
    return total


def _capped(value: float, cap: float | None) -> float:
    return value if cap is None or value <= cap else cap


def funnel_completion(
    steps: Sequence[Sequence[int]], exposed: int, count: int, end: int | None
) -> int | None:
    """The second at which the entity completed the funnel's ``count`` steps in order, each
    at or after the one before and the first at or after its exposure, within ``end``
    seconds of the exposure; None if it has not. Greedy: the earliest possible time of each
    step keeps every later step's choices open."""
    at = exposed
    for index in range(count):
        times = steps[index] if index < len(steps) else ()
        nxt = next((s for s in times if s >= at), None)
        if nxt is None:
            return None
        at = nxt
    if end is not None and at - exposed >= end:
        return None
    return at


def _append(points: list[Point], bucket: int, x: float, y: float) -> None:
    last = points[-1]
    if bucket == last[0]:
        points[-1] = (bucket, x, y)
    elif (last[1], last[2]) != (x, y):
        points.append((bucket, x, y))


def scalar_timeline(
    state: EntityState, metric: MetricPlan, plan: CellPlan, bucket_seconds: int
) -> tuple[Point, ...]:
    """The entity's (x, y) for ``metric`` over time, y cumulative; empty until it is exposed.

    Runs twice per entity change in the processor, over the entity's bounded history
    (``entity.py``), so its cost never grows with the number of events.
    """
    exposed = state.exposed_second
    if exposed is None:
        return ()
    kind = metric.kind
    first = exposed // bucket_seconds
    if kind is MetricType.FORMULA:
        return _difference(state, metric, plan, bucket_seconds)
    history = state.history(metric.name)
    if kind is MetricType.FUNNEL:
        end = plan.rules.window(metric.name).end
        done = funnel_completion(history.steps, exposed, metric.steps, end)
        points = [(first, 0.0, 0.0)]
        if done is not None:
            _append(points, max(done // bucket_seconds, first), 0.0, 1.0)
        return tuple(points)
    if kind is MetricType.RETENTION:
        x = 0.0  # Amplitude: retention takes no CUPED covariate
    else:
        x_total, x_count = history.covariate(exposed - plan.covariate_seconds, exposed)
        x = _capped(_number(kind, x_total, x_count), metric.cap)
    # Rows keep their own bucket size; a processor configured otherwise maps them.
    scale = state.bucket_seconds
    points = [(first, x, 0.0)]
    total = 0.0
    count = 0
    for bucket, v, c in history.after:
        total += v
        count += c
        b = max(bucket * scale // bucket_seconds, first)
        _append(points, b, x, _capped(_number(kind, total, count), metric.cap))
    return tuple(points)


def _merged(a: Sequence[Point], b: Sequence[Point]) -> list[tuple[int, float, float, float, float]]:
    """Two timelines of one entity on the union of their buckets: (bucket, xa, ya, xb, yb)."""
    out: list[tuple[int, float, float, float, float]] = []
    i = j = 0
    xa = ya = xb = yb = 0.0
    while i < len(a) or j < len(b):
        ba = a[i][0] if i < len(a) else None
        bb = b[j][0] if j < len(b) else None
        bucket = min(x for x in (ba, bb) if x is not None)
        if ba == bucket:
            _, xa, ya = a[i]
            i += 1
        if bb == bucket:
            _, xb, yb = b[j]
            j += 1
        out.append((bucket, xa, ya, xb, yb))
    return out


def _parts(
    state: EntityState, metric: MetricPlan, plan: CellPlan, bucket_seconds: int
) -> list[tuple[int, float, float, float, float]]:
    assert metric.parts is not None
    numerator, denominator = (plan.metric(name) or MetricPlan(name) for name in metric.parts)
    return _merged(
        scalar_timeline(state, numerator, plan, bucket_seconds),
        scalar_timeline(state, denominator, plan, bucket_seconds),
    )


def _difference(
    state: EntityState, metric: MetricPlan, plan: CellPlan, bucket_seconds: int
) -> tuple[Point, ...]:
    points: list[Point] = []
    for bucket, xa, ya, xb, yb in _parts(state, metric, plan, bucket_seconds):
        if points:
            _append(points, bucket, xa - xb, ya - yb)
        else:
            points.append((bucket, xa - xb, ya - yb))
    return tuple(points)


def ratio_timeline(
    state: EntityState, metric: MetricPlan, plan: CellPlan, bucket_seconds: int
) -> tuple[VectorPoint, ...]:
    """A ratio metric's (m, d, m_pre, d_pre) over time, m and d cumulative: the sum of the
    entity's values and its number of events (AVERAGE), or the numerator's and the
    denominator's numbers (FORMULA, RATIO)."""
    exposed = state.exposed_second
    if exposed is None:
        return ()
    if metric.kind is MetricType.FORMULA:
        rows = [
            (b, (ya, yb, xa, xb))
            for b, xa, ya, xb, yb in _parts(state, metric, plan, bucket_seconds)
        ]
    else:
        history = state.history(metric.name)
        m_pre, d_pre = history.covariate(exposed - plan.covariate_seconds, exposed)
        first = exposed // bucket_seconds
        rows = [(first, (0.0, 0.0, m_pre, float(d_pre)))]
        total = 0.0
        count = 0
        scale = state.bucket_seconds
        for bucket, v, c in history.after:
            total += v
            count += c
            rows.append(
                (
                    max(bucket * scale // bucket_seconds, first),
                    (total, float(count), m_pre, float(d_pre)),
                )
            )
    points: list[VectorPoint] = []
    for bucket, vector in rows:
        if points and points[-1][0] == bucket:
            points[-1] = (bucket, vector)
        elif not points or points[-1][1] != vector:
            points.append((bucket, vector))
    return tuple(points)


def over_timeline(
    state: EntityState, metric: MetricPlan, plan: CellPlan, bucket_seconds: int
) -> tuple[Point, ...]:
    """y = 1 while the entity's uncapped number is above the metric's absolute cap: its cells'
    conversions count the entities the cap touched."""
    assert metric.cap is not None
    cap = metric.cap
    raw = scalar_timeline(state, replace(metric, cap=None), plan, bucket_seconds)
    points: list[Point] = []
    for bucket, _, y in raw:
        over = 1.0 if y > cap else 0.0
        if points:
            _append(points, bucket, 0.0, over)
        else:
            points.append((bucket, 0.0, over))
    return tuple(points)


def count_timeline(
    state: EntityState, name: str, plan: CellPlan, bucket_seconds: int
) -> tuple[Point, ...]:
    """One point at the entity's assignment for the reserved counts: ``ASSIGNED`` (with an
    exposure event, every assigned entity, exposed or not) and ``CROSSED``."""
    assigned = state.assigned
    if assigned is None or state.treatment is None:
        return ()
    if name == ASSIGNED and not plan.rules.by_event:
        return ()
    if name == CROSSED and not state.crossed:
        return ()
    return ((int(assigned // bucket_seconds), 0.0, 0.0),)


CellKey = tuple[str, str, int]  # (metric, treatment, bucket)


@dataclass(slots=True)
class Cell:
    """One bucket's net contribution: points added there minus points removed there.

    Exact (``PowerSums``, or ``VectorSums`` for a ratio metric), so the cumulative aggregate
    at bucket B, the sum of the cells up to B, is the exact aggregate of the entities' points
    at B whatever order the additions and removals came in. A cell's own count may be zero or
    its sums negative: a bucket in which an entity's outcome changed removes its old point and
    adds its new one.
    """

    sums: PowerSums = EMPTY
    conversions: int = 0
    vector: VectorSums | None = None

    def copy(self) -> Cell:
        return Cell(self.sums, self.conversions, self.vector)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sums": self.sums.to_json(), "conversions": self.conversions}
        if self.vector is not None:
            out["vector"] = self.vector.to_json()
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cell:
        vector = data.get("vector")
        return cls(
            PowerSums.from_json(data["sums"]),
            int(data["conversions"]),
            None if vector is None else VectorSums.from_json(vector),
        )


def delta_representation(
    points: Sequence[tuple[Any, ...]], start: int = 0
) -> Iterable[tuple[int, int, int]]:
    """(bucket, point index, sign) entries whose per-bucket sums rebuild the timeline.

    Point i contributes itself (+1) and the removal of point i-1 (-1), both at its
    bucket; ``start`` skips the entries of the points before it.
    """
    for i in range(start, len(points)):
        bucket = points[i][0]
        yield bucket, i, 1
        if i > 0:
            yield bucket, i - 1, -1


def shared_prefix(old: Sequence[Any], new: Sequence[Any]) -> int:
    """How many leading points two timelines have in common."""
    count = 0
    for a, b in zip(old, new, strict=False):
        if a != b:
            break
        count += 1
    return count


def _cell(cells: dict[CellKey, Cell], key: CellKey) -> Cell:
    cell = cells.get(key)
    if cell is None:
        cell = cells[key] = Cell()
    return cell


def apply_timeline(
    cells: dict[CellKey, Cell],
    metric: str,
    treatment: str,
    points: Sequence[Point],
    sign: int,
    start: int = 0,
    binned: bool = False,
) -> set[CellKey]:
    """Apply (sign=+1) or undo (sign=-1) one timeline from point ``start`` on; returns the
    cells touched. ``binned``: into the cells of each point's bin of y instead (each bin's
    cumulative sum then holds exactly the points whose current y lies in it)."""
    touched: set[CellKey] = set()
    for b, i, entry_sign in delta_representation(points, start):
        _, x, y = points[i]
        key = (binned_name(metric, y) if binned else metric, treatment, b)
        cell = _cell(cells, key)
        one = PowerSums.point(x, y)
        direction = sign * entry_sign
        cell.sums = cell.sums + one if direction > 0 else cell.sums - one
        if y > 0:
            cell.conversions += direction
        touched.add(key)
    return touched


def apply_vector_timeline(
    cells: dict[CellKey, Cell],
    metric: str,
    treatment: str,
    points: Sequence[VectorPoint],
    sign: int,
    start: int = 0,
) -> set[CellKey]:
    """``apply_timeline`` for a ratio metric's 4-vectors."""
    touched: set[CellKey] = set()
    for b, i, entry_sign in delta_representation(points, start):
        key = (metric, treatment, b)
        cell = _cell(cells, key)
        one = VectorSums.point(points[i][1])
        vector = cell.vector if cell.vector is not None else VectorSums.zero(RATIO_DIMENSION)
        cell.vector = vector + one if sign * entry_sign > 0 else vector - one
        touched.add(key)
    return touched


def _move(
    cells: dict[CellKey, Cell],
    name: str,
    old: Sequence[Any],
    new: Sequence[Any],
    before: EntityState | None,
    after: EntityState,
    vector: bool,
    binned: bool = False,
) -> set[CellKey]:
    old_treatment = before.treatment if before is not None else None
    if old == new and old_treatment == after.treatment:
        return set()
    # Entries of a shared leading run of points are the same in both timelines
    # (entry i depends on points i and i-1 only), so only what follows moves: a new
    # event touches its own bucket, not the entity's whole history.
    start = shared_prefix(old, new) if old_treatment == after.treatment else 0
    touched: set[CellKey] = set()
    if vector:
        if old and old_treatment is not None:
            touched |= apply_vector_timeline(cells, name, old_treatment, old, -1, start)
        if new and after.treatment is not None:
            touched |= apply_vector_timeline(cells, name, after.treatment, new, +1, start)
        return touched
    if old and old_treatment is not None:
        touched |= apply_timeline(cells, name, old_treatment, old, -1, start, binned)
    if new and after.treatment is not None:
        touched |= apply_timeline(cells, name, after.treatment, new, +1, start, binned)
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
    for metric in plan.metrics:
        if metric.ratio:
            old_v = ratio_timeline(before, metric, plan, bucket_seconds) if before else ()
            new_v = ratio_timeline(after, metric, plan, bucket_seconds)
            touched |= _move(cells, metric.name, old_v, new_v, before, after, vector=True)
        else:
            old = scalar_timeline(before, metric, plan, bucket_seconds) if before else ()
            new = scalar_timeline(after, metric, plan, bucket_seconds)
            touched |= _move(cells, metric.name, old, new, before, after, vector=False)
            if metric.percentile is not None:
                touched |= _move(cells, metric.name, old, new, before, after, False, True)
            if metric.cap is not None:
                old_o = over_timeline(before, metric, plan, bucket_seconds) if before else ()
                new_o = over_timeline(after, metric, plan, bucket_seconds)
                name = metric.name + OVER
                touched |= _move(cells, name, old_o, new_o, before, after, vector=False)
    for name in (ASSIGNED, CROSSED):
        old = count_timeline(before, name, plan, bucket_seconds) if before else ()
        new = count_timeline(after, name, plan, bucket_seconds)
        touched |= _move(cells, name, old, new, before, after, vector=False)
    return touched


@dataclass(frozen=True, slots=True)
class Cumulative:
    comoments: CoMoments
    conversions: int
    # A ratio metric's (m, d, m_pre, d_pre) co-moments; None for the others.
    matrix: CoMatrix | None = None


def _add_vectors(a: VectorSums | None, b: VectorSums | None, sign: int = 1) -> VectorSums | None:
    if b is None:
        return a
    if a is None:
        return b if sign > 0 else -b
    return a + b if sign > 0 else a - b


def cumulative(cells: Iterable[Cell]) -> Cumulative:
    """The aggregate over the given buckets: the sum of their cells, exact.

    Raises ``InconsistentSums`` if the cells describe no multiset of points.
    """
    total = Cell()
    for cell in cells:
        merge_cell(total, cell, +1)
    return _read(total)


def _read(total: Cell) -> Cumulative:
    matrix = None if total.vector is None else total.vector.comatrix()
    return Cumulative(total.sums.comoments(), total.conversions, matrix)


def merge_cell(into: Cell, other: Cell, sign: int) -> None:
    """Add (sign=+1) or take out (sign=-1) one partition's cell from a merged cell."""
    into.sums = into.sums + other.sums if sign > 0 else into.sums - other.sums
    into.conversions += sign * other.conversions
    into.vector = _add_vectors(into.vector, other.vector, sign)


def cumulative_series(cells: Mapping[int, Cell], cutoffs: Sequence[int]) -> list[Cumulative]:
    """The cumulative aggregate at each cutoff (buckets below it), in one pass over buckets.

    Cost follows buckets and looks, never the number of events.
    """
    ordered = sorted(cells.items())
    total = Cell()
    i = 0
    out: list[Cumulative] = []
    for cutoff in cutoffs:
        while i < len(ordered) and ordered[i][0] < cutoff:
            merge_cell(total, ordered[i][1], +1)
            i += 1
        out.append(_read(total))
    return out
