"""One (experiment, entity)'s state in the processor: bounded whatever the entity does.

An entity row used to hold every event of the entity; a bot or a whale with 40,000 events
grew it past Kafka's message limit and stopped ingestion for everyone. The state now keeps
only what the cells need, per metric:

- ``after``: the sums of its values from the exposure's whole second on, per time bucket
  (the cells' own granularity, so nothing is lost);
- ``before``: its values before the exposure (or all of them while it is unexposed), per
  whole second, so that the exposure boundary stays exact to the second that botocore
  stamps; past ``MAX_FINE_SLOTS`` seconds the oldest are summed per day (``coarse``), and
  past ``MAX_COARSE_SLOTS`` days the oldest are dropped;
- ``recent``: the ids of its last ``MAX_RECENT_IDS`` events, for duplicate detection.

Bounds, and what they cost (README, Ingestion):
- a redelivery is recognised while fewer than ``MAX_RECENT_IDS`` newer events of the same
  entity and metric have arrived (the duplicate-detection horizon);
- ``after`` keeps ``MAX_AFTER_BUCKETS`` buckets; beyond that the oldest bucket's sum joins
  the next one, so only an entity active in that many distinct buckets sees its oldest
  contributions counted a few buckets late, in the per-look series; totals never change;
- the CUPED window's start is exact to the day for all but the entity's latest
  ``MAX_FINE_SLOTS`` seconds of pre-exposure events (a day that holds it is left out), and
  only its ``MAX_COARSE_SLOTS`` most recent active days before exposure count; an
  exposure that moves earlier (a late, earlier evaluation) into a day summed as one slot
  counts that day as covariate; so does an exposure that reaches the processor after
  more than ``MAX_FINE_SLOTS`` seconds of the entity's later events (a backlog in which
  its observations overtook its assignment), for the events of its own day.
With three metric goals (Evidently's maximum) a row stays under 96 KB (a test fills every
bound with the longest values).

Each slot keeps the sum of the values and the number of events: a metric reads the one its
type needs (README, Metric types). What issue 18 added, and its bounds:
- a metric's ``Window`` (a conversion window, or retention's day N) is applied when an event
  is placed after the exposure, at the event's exact second; when the exposure later moves
  earlier (a late, earlier assignment or exposure event), what lies past the new window's end
  leaves by whole buckets, so only the bucket holding the end can keep events past it;
- a funnel keeps, per step, the earliest ``MAX_STEP_SECONDS - 1`` seconds of its events and
  the latest one, so steps done in time order are matched exactly;
- with an exposure event (``Rules.by_event``), the exposure is the first such event at or
  after the assignment's second; the earliest ``MAX_SEEN`` of them are kept;
- an entity assigned two treatments keeps the first and is marked ``crossed``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

MAX_RECENT_IDS = 128
MAX_AFTER_BUCKETS = 360
MAX_FINE_SLOTS = 32
MAX_COARSE_SLOTS = 64
MAX_STEP_SECONDS = 8
MAX_SEEN = 8
DAY = 86_400

Slot = tuple[int, float, int]  # (second or bucket, sum of values, number of events)
Slots = tuple[Slot, ...]  # ascending


def _add(slots: Slots, key: int, value: float, count: int = 1) -> Slots:
    """The slots with one event (or ``count``) of ``value`` added at ``key``; appending in
    time order is the cheap case."""
    if not slots or slots[-1][0] < key:
        return (*slots, (key, value, count))
    items = {k: (v, c) for k, v, c in slots}
    old_v, old_c = items.get(key, (0.0, 0))
    items[key] = (old_v + value, old_c + count)
    return tuple((k, v, c) for k, (v, c) in sorted(items.items()))


def _merge_oldest(slots: Slots, limit: int) -> Slots:
    """Fold the oldest slots into the next one until at most ``limit`` remain."""
    if len(slots) <= limit:
        return slots
    excess = len(slots) - limit
    carried = sum(s[1] for s in slots[: excess + 1])
    counted = sum(s[2] for s in slots[: excess + 1])
    return ((slots[excess][0], carried, counted), *slots[excess + 1 :])


@dataclass(frozen=True, slots=True)
class Window:
    """Which events count after the exposure: those ``start`` <= t - exposure < ``end``
    seconds (a conversion window is [0, W); retention on day N is [N days, N+1 days))."""

    start: int = 0
    end: int | None = None

    def holds(self, offset: int) -> bool:
        return self.start <= offset and (self.end is None or offset < self.end)


ALWAYS = Window()


@dataclass(frozen=True, slots=True)
class Rules:
    """What an entity's experiment asks of its updates: whether an exposure event (not the
    assignment) exposes it, each metric's window, and which metrics are funnels."""

    by_event: bool = False
    windows: Mapping[str, Window] = field(default_factory=dict)
    funnels: frozenset[str] = frozenset()

    def window(self, metric: str) -> Window:
        return self.windows.get(metric, ALWAYS)


DEFAULT_RULES = Rules()


def _kept_seconds(seconds: tuple[int, ...], second: int, limit: int) -> tuple[int, ...]:
    """Sorted, without duplicates; past ``limit``, the earliest ``limit - 1`` and the latest."""
    if second in seconds:
        return seconds
    merged = tuple(sorted((*seconds, second)))
    if len(merged) > limit:
        merged = (*merged[: limit - 1], merged[-1])
    return merged


@dataclass(frozen=True, slots=True)
class MetricHistory:
    after: Slots = ()  # bucket -> sum, from the exposure's whole second on
    fine: Slots = ()  # second -> sum, before the exposure
    coarse: Slots = ()  # day -> sum, before the exposure, older than ``fine``
    recent: tuple[int, ...] = ()
    # A funnel's events: per step, the seconds they happened at (``_kept_seconds``).
    steps: tuple[tuple[int, ...], ...] = ()

    def seen(self, event_id: int) -> bool:
        return event_id in self.recent

    def remembered(self, event_id: int) -> tuple[int, ...]:
        recent = (*self.recent, event_id)
        return recent[-MAX_RECENT_IDS:] if len(recent) > MAX_RECENT_IDS else recent

    def with_before(self, second: int, value: float) -> MetricHistory:
        if self.coarse and self.fine and second < self.fine[0][0]:
            coarse = _add(self.coarse, second // DAY, value)
            return replace(self, coarse=coarse[-MAX_COARSE_SLOTS:])
        fine = _add(self.fine, second, value)
        coarse = self.coarse
        if len(fine) > MAX_FINE_SLOTS:
            # The oldest seconds move to per-day sums: the exposure boundary stays exact
            # for the recent seconds, where it falls unless an exposure arrives very late.
            moving, fine = fine[: -MAX_FINE_SLOTS // 2], fine[-MAX_FINE_SLOTS // 2 :]
            for s, v, c in moving:
                coarse = _add(coarse, s // DAY, v, c)
            coarse = coarse[-MAX_COARSE_SLOTS:]
        return replace(self, fine=fine, coarse=coarse)

    def with_after(self, bucket: int, value: float) -> MetricHistory:
        after = _merge_oldest(_add(self.after, bucket, value), MAX_AFTER_BUCKETS)
        return replace(self, after=after)

    def with_step(self, step: int, second: int) -> MetricHistory:
        steps = list(self.steps)
        while len(steps) <= step:
            steps.append(())
        steps[step] = _kept_seconds(steps[step], second, MAX_STEP_SECONDS)
        return replace(self, steps=tuple(steps))

    def split_at(self, exposed: int, bucket_seconds: int, window: Window = ALWAYS) -> MetricHistory:
        """Move what lies from second ``exposed`` on out of ``before`` into ``after`` (or
        drop it, if it falls outside the metric's window).

        An exposure can only move earlier, and with it the window's end: buckets of
        ``after`` that now start at or past the end leave it (the bucket that holds the end
        keeps what it has: the one inexact minute of a window that moved)."""
        after = self.after
        if window.end is not None:
            # Rows keep their own bucket size (``EntityState.bucket_seconds``).
            after = tuple(a for a in after if a[0] * bucket_seconds - exposed < window.end)
        fine: list[Slot] = []
        for s, v, c in self.fine:
            if s >= exposed:
                if window.holds(s - exposed):
                    after = _add(after, s // bucket_seconds, v, c)
            else:
                fine.append((s, v, c))
        coarse: list[Slot] = []
        for day, v, c in self.coarse:
            # A day summed as one slot counts as outcome only if it starts at or after
            # the exposure (at its first bucket); one that holds the boundary stays
            # covariate.
            if day * DAY >= exposed:
                if window.holds(day * DAY - exposed):
                    after = _add(after, day * DAY // bucket_seconds, v, c)
            else:
                coarse.append((day, v, c))
        return replace(
            self,
            after=_merge_oldest(after, MAX_AFTER_BUCKETS),
            fine=tuple(fine),
            coarse=tuple(coarse),
        )

    def covariate(self, start: float, exposed: int) -> tuple[float, int]:
        """The sum of the values in [start, exposed), and the number of events: fine slots
        by second, per-day slots by their day's start."""
        x = 0.0
        count = 0
        for day, v, c in self.coarse:
            if day * DAY >= start:
                x += v
                count += c
        for s, v, c in self.fine:
            if start <= s < exposed:
                x += v
                count += c
        return x, count

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "a": [list(s) for s in self.after],
            "f": [list(s) for s in self.fine],
            "c": [list(s) for s in self.coarse],
            "r": list(self.recent),
        }
        if self.steps:
            out["s"] = [list(s) for s in self.steps]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MetricHistory:
        def slots(raw: Iterable[Any]) -> Slots:
            # Rows written before slots counted events carry (key, sum): one event each,
            # which only a metric type chosen after the fact (it is frozen while running)
            # could read.
            return tuple((int(s[0]), float(s[1]), int(s[2]) if len(s) > 2 else 1) for s in raw)

        return cls(
            slots(data.get("a", ())),
            slots(data.get("f", ())),
            slots(data.get("c", ())),
            tuple(int(i) for i in data.get("r", ())),
            tuple(tuple(int(x) for x in step) for step in data.get("s", ())),
        )


EMPTY_HISTORY = MetricHistory()


@dataclass(frozen=True, slots=True)
class EntityState:
    bucket_seconds: int = 3600
    treatment: str | None = None
    # When the entity entered the analysis: its first evaluation, or, with an exposure event,
    # its first such event at or after ``assigned_at``.
    exposed_at: float | None = None
    metrics: Mapping[str, MetricHistory] = field(default_factory=dict)
    # Per source topic, the offset of the last record applied to this row: a replay after
    # a crash is recognised by offset, whatever the number of its events (the event ids'
    # horizon is 128), for the records the join reads.
    applied: Mapping[str, int] = field(default_factory=dict)
    # With an exposure event: the first evaluation, and the seconds of exposure events seen.
    assigned_at: float | None = None
    seen: tuple[int, ...] = ()
    # Assigned a second, different treatment (weights or stickiness changed): a health check.
    crossed: bool = False

    def with_applied(self, topic: str, offset: int) -> EntityState:
        if offset <= self.applied.get(topic, -1):
            return self
        return replace(self, applied={**self.applied, topic: offset})

    @property
    def exposed_second(self) -> int | None:
        # botocore sends event timestamps in whole seconds (its default precision), so an
        # event in the same second as the exposure can carry an earlier stamp; the
        # exposure's whole second is the boundary.
        return None if self.exposed_at is None else math.floor(self.exposed_at)

    @property
    def assigned(self) -> float | None:
        """When the entity was first assigned, whatever exposes it."""
        return self.assigned_at if self.assigned_at is not None else self.exposed_at

    def history(self, metric: str) -> MetricHistory:
        return self.metrics.get(metric, EMPTY_HISTORY)

    def _exposed(self, at: float, rules: Rules) -> EntityState:
        """The state exposed at ``at``, which is earlier than any exposure it had."""
        second = math.floor(at)
        metrics = {
            m: h.split_at(second, self.bucket_seconds, rules.window(m))
            for m, h in self.metrics.items()
        }
        return replace(self, exposed_at=at, metrics=metrics)

    def _crossing(self, treatment: str) -> bool:
        return self.crossed or (self.treatment is not None and self.treatment != treatment)

    def with_exposure(self, treatment: str, at: float, rules: Rules = DEFAULT_RULES) -> EntityState:
        """The state after an assignment (an evaluation) at ``at``.

        The first assignment decides the treatment (intent to treat); a replay or a later
        evaluation changes nothing but the crossed mark, an earlier one that arrives late
        wins. Without an exposure event the assignment exposes the entity.
        """
        crossed = self._crossing(treatment)
        if not rules.by_event:
            if self.exposed_at is not None and self.exposed_at <= at:
                return self if crossed == self.crossed else replace(self, crossed=crossed)
            return replace(self._exposed(at, rules), treatment=treatment, crossed=crossed)
        if self.assigned_at is not None and self.assigned_at <= at:
            return self if crossed == self.crossed else replace(self, crossed=crossed)
        state = replace(self, treatment=treatment, assigned_at=at, crossed=crossed)
        return state._exposure_from_seen(rules)

    def with_seen(self, second: int, rules: Rules) -> EntityState:
        """The state after an exposure event at ``second``."""
        seen = _kept_seconds(self.seen, second, MAX_SEEN)
        if seen == self.seen:
            return self
        return replace(self, seen=seen)._exposure_from_seen(rules)

    def _exposure_from_seen(self, rules: Rules) -> EntityState:
        if self.assigned_at is None:
            return self
        start = math.floor(self.assigned_at)
        first = next((s for s in self.seen if s >= start), None)
        if first is None or (self.exposed_at is not None and self.exposed_at <= first):
            return self
        return self._exposed(float(first), rules)

    def with_event(
        self,
        metric: str,
        timestamp: float,
        value: float,
        event_id: int,
        rules: Rules = DEFAULT_RULES,
    ) -> EntityState:
        """The state with one more event; the same object for a duplicate delivery. For a
        funnel, ``value`` is the index of the step the event matched."""
        history = self.history(metric)
        funnel = metric in rules.funnels
        if funnel:
            # One event may match several steps: each is its own observation.
            event_id = hash((event_id, int(value)))
        if history.seen(event_id):
            return self
        second = math.floor(timestamp)
        exposed = self.exposed_second
        if funnel:
            history = history.with_step(int(value), second)
        elif exposed is not None and second >= exposed:
            if rules.window(metric).holds(second - exposed):
                history = history.with_after(second // self.bucket_seconds, value)
        else:
            history = history.with_before(second, value)
        metrics = dict(self.metrics)
        metrics[metric] = replace(history, recent=history.remembered(event_id))
        return replace(self, metrics=metrics)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "b": self.bucket_seconds,
            "t": self.treatment,
            "x": self.exposed_at,
            "m": {m: h.to_json() for m, h in self.metrics.items()},
            "o": dict(self.applied),
        }
        if self.assigned_at is not None:
            out["a"] = self.assigned_at
        if self.seen:
            out["s"] = list(self.seen)
        if self.crossed:
            out["c"] = True
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any], bucket_seconds: int) -> EntityState:
        """A row as ``to_json`` wrote it, or a row of the version that kept every event
        (``"e"``), folded into the bounded form on read."""
        if "m" in data:
            assigned = data.get("a")
            return cls(
                int(data["b"]),
                data.get("t"),
                data.get("x"),
                {m: MetricHistory.from_json(h) for m, h in data["m"].items()},
                {str(t): int(o) for t, o in data.get("o", {}).items()},
                None if assigned is None else float(assigned),
                tuple(int(s) for s in data.get("s", ())),
                bool(data.get("c", False)),
            )
        state = cls(bucket_seconds, data.get("t"), data.get("x"))
        for metric, events in data.get("e", {}).items():
            for ts, value, event_id in events:
                state = state.with_event(metric, float(ts), float(value), int(event_id))
        return state
