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
With three metric goals (Evidently's maximum) a row stays under 64 KB (a test fills every
bound with the longest values).
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
DAY = 86_400

Slots = tuple[tuple[int, float], ...]  # (second or bucket, sum), ascending


def _add(slots: Slots, key: int, value: float) -> Slots:
    """The slots with ``value`` added at ``key``; appending in time order is the cheap case."""
    if not slots or slots[-1][0] < key:
        return (*slots, (key, value))
    items = dict(slots)
    items[key] = items.get(key, 0.0) + value
    return tuple(sorted(items.items()))


def _merge_oldest(slots: Slots, limit: int) -> Slots:
    """Fold the oldest slots into the next one until at most ``limit`` remain."""
    if len(slots) <= limit:
        return slots
    excess = len(slots) - limit
    carried = sum(v for _, v in slots[: excess + 1])
    return ((slots[excess][0], carried), *slots[excess + 1 :])


@dataclass(frozen=True, slots=True)
class MetricHistory:
    after: Slots = ()  # bucket -> sum, from the exposure's whole second on
    fine: Slots = ()  # second -> sum, before the exposure
    coarse: Slots = ()  # day -> sum, before the exposure, older than ``fine``
    recent: tuple[int, ...] = ()

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
            for s, v in moving:
                coarse = _add(coarse, s // DAY, v)
            coarse = coarse[-MAX_COARSE_SLOTS:]
        return replace(self, fine=fine, coarse=coarse)

    def with_after(self, bucket: int, value: float) -> MetricHistory:
        after = _merge_oldest(_add(self.after, bucket, value), MAX_AFTER_BUCKETS)
        return replace(self, after=after)

    def split_at(self, exposed: int, bucket_seconds: int) -> MetricHistory:
        """Move what lies from second ``exposed`` on out of ``before`` into ``after``."""
        after = self.after
        fine: list[tuple[int, float]] = []
        for s, v in self.fine:
            if s >= exposed:
                after = _add(after, s // bucket_seconds, v)
            else:
                fine.append((s, v))
        coarse: list[tuple[int, float]] = []
        for day, v in self.coarse:
            # A day summed as one slot counts as outcome only if it starts at or after
            # the exposure (at its first bucket); one that holds the boundary stays
            # covariate.
            if day * DAY >= exposed:
                after = _add(after, day * DAY // bucket_seconds, v)
            else:
                coarse.append((day, v))
        return replace(
            self,
            after=_merge_oldest(after, MAX_AFTER_BUCKETS),
            fine=tuple(fine),
            coarse=tuple(coarse),
        )

    def covariate(self, start: float, exposed: int) -> float:
        """The sum of the values in [start, exposed): fine slots by second, per-day slots
        by their day's start."""
        x = 0.0
        for day, v in self.coarse:
            if day * DAY >= start:
                x += v
        for s, v in self.fine:
            if start <= s < exposed:
                x += v
        return x

    def to_json(self) -> dict[str, Any]:
        return {
            "a": [list(s) for s in self.after],
            "f": [list(s) for s in self.fine],
            "c": [list(s) for s in self.coarse],
            "r": list(self.recent),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MetricHistory:
        def slots(raw: Iterable[Any]) -> Slots:
            return tuple((int(k), float(v)) for k, v in raw)

        return cls(
            slots(data.get("a", ())),
            slots(data.get("f", ())),
            slots(data.get("c", ())),
            tuple(int(i) for i in data.get("r", ())),
        )


EMPTY_HISTORY = MetricHistory()


@dataclass(frozen=True, slots=True)
class EntityState:
    bucket_seconds: int = 3600
    treatment: str | None = None
    exposed_at: float | None = None
    metrics: Mapping[str, MetricHistory] = field(default_factory=dict)
    # Per source topic, the offset of the last record applied to this row: a replay after
    # a crash is recognised by offset, whatever the number of its events (the event ids'
    # horizon is 128), for the records the join reads.
    applied: Mapping[str, int] = field(default_factory=dict)

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

    def history(self, metric: str) -> MetricHistory:
        return self.metrics.get(metric, EMPTY_HISTORY)

    def with_exposure(self, treatment: str, at: float) -> EntityState:
        # The first exposure decides (intent to treat); a replay or a later
        # evaluation changes nothing, an earlier one that arrives late wins.
        if self.exposed_at is not None and self.exposed_at <= at:
            return self
        second = math.floor(at)
        metrics = {m: h.split_at(second, self.bucket_seconds) for m, h in self.metrics.items()}
        return replace(self, treatment=treatment, exposed_at=at, metrics=metrics)

    def with_event(self, metric: str, timestamp: float, value: float, event_id: int) -> EntityState:
        """The state with one more event; the same object for a duplicate delivery."""
        history = self.history(metric)
        if history.seen(event_id):
            return self
        second = math.floor(timestamp)
        exposed = self.exposed_second
        if exposed is not None and second >= exposed:
            history = history.with_after(second // self.bucket_seconds, value)
        else:
            history = history.with_before(second, value)
        metrics = dict(self.metrics)
        metrics[metric] = replace(history, recent=history.remembered(event_id))
        return replace(self, metrics=metrics)

    def to_json(self) -> dict[str, Any]:
        return {
            "b": self.bucket_seconds,
            "t": self.treatment,
            "x": self.exposed_at,
            "m": {m: h.to_json() for m, h in self.metrics.items()},
            "o": dict(self.applied),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any], bucket_seconds: int) -> EntityState:
        """A row as ``to_json`` wrote it, or a row of the version that kept every event
        (``"e"``), folded into the bounded form on read."""
        if "m" in data:
            return cls(
                int(data["b"]),
                data.get("t"),
                data.get("x"),
                {m: MetricHistory.from_json(h) for m, h in data["m"].items()},
                {str(t): int(o) for t, o in data.get("o", {}).items()},
            )
        state = cls(bucket_seconds, data.get("t"), data.get("x"))
        for metric, events in data.get("e", {}).items():
            for ts, value, event_id in events:
                state = state.with_event(metric, float(ts), float(value), int(event_id))
        return state
