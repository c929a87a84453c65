"""One batch of the join, folded per entity: pure, tested without Kafka.

A batch read from the joined topics can touch one (experiment, entity) many
times: its exposure and several events. Folding them in arrival order and
writing the row once gives the same final state as one write per update (each
update is a pure step on ``EntityState``), with one changelog record and one
aggregate move per entity instead of one per update.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from shared.domain.entity import DEFAULT_RULES, EntityState, Rules
from shared.domain.observations import EXPOSURE
from shared.streams import Exposure, Observed

Update = Exposure | Observed


def entity_key(experiment_key: str, entity_id: str) -> str:
    return f"{experiment_key}|{entity_id}"


def split_entity_key(key: str) -> tuple[str, str]:
    experiment, _, entity = key.partition("|")
    return experiment, entity


def target(update: Update) -> tuple[str, str]:
    """(experiment key, entity id) an update belongs to."""
    if isinstance(update, Exposure):
        return update.experiment_key, update.entity_id
    o = update.observation
    return o.experiment_key, o.entity_id


def entity_of(update: Update) -> str:
    return target(update)[1]


def step(state: EntityState, update: Update, rules: Rules = DEFAULT_RULES) -> EntityState:
    """The state after one update; the same object when the update changes nothing."""
    if isinstance(update, Exposure):
        return state.with_exposure(update.treatment, update.timestamp, rules)
    o = update.observation
    if o.metric == EXPOSURE:
        return state.with_seen(math.floor(update.timestamp), rules)
    return state.with_event(o.metric, update.timestamp, o.value, update.event_id, rules)


@dataclass(slots=True)
class Change:
    experiment: str
    before: EntityState | None
    after: EntityState


@dataclass
class Folded:
    changes: dict[str, Change] = field(default_factory=dict)  # entity key -> change
    # Per update kind (Exposure or Observed): how many changed a
    # state, and how many were redeliveries or otherwise changed nothing.
    applied: Counter[type] = field(default_factory=Counter)
    unchanged: Counter[type] = field(default_factory=Counter)
    # Entities an update could not be applied to (entity key -> why): their updates are
    # set aside whole, and their rows keep what was stored.
    failed: dict[str, str] = field(default_factory=dict)


Source = tuple[str, int]  # (topic, offset) of the record an update came in


def fold(
    updates: Sequence[Update],
    load: Callable[[str], EntityState | None],
    bucket_seconds: int,
    sources: Sequence[Source] | None = None,
    rules_of: Callable[[str], Rules] | None = None,
) -> Folded:
    """Apply the updates in order; ``load`` gives a row's stored state (None if absent),
    and a new row sums its values per ``bucket_seconds``.

    With ``sources`` (one per update), an update from a record at or before the row's
    last applied offset of that topic is a replay and changes nothing; a changed row
    remembers the newest offset of each topic it took. Only entities whose final state
    differs from the stored one appear in ``changes``; an entity whose updates cancel out
    is never written. ``rules_of`` gives an experiment's entity rules (its exposure event,
    windows and funnels).
    """
    out = Folded()
    working: dict[str, Change] = {}
    changed: set[str] = set()
    newest: dict[str, dict[str, int]] = {}
    for index, update in enumerate(updates):
        experiment, entity = target(update)
        key = entity_key(experiment, entity)
        change = working.get(key)
        if change is None:
            stored = load(key)
            change = working[key] = Change(
                experiment, stored, stored or EntityState(bucket_seconds)
            )
        if key in out.failed:
            continue
        if sources is not None:
            topic, offset = sources[index]
            if offset <= change.after.applied.get(topic, -1):
                out.unchanged[type(update)] += 1
                continue
            mine = newest.setdefault(key, {})
            mine[topic] = max(offset, mine.get(topic, -1))
        try:
            rules = rules_of(experiment) if rules_of is not None else DEFAULT_RULES
            after = step(change.after, update, rules)
        except Exception as exc:  # one entity's bug must not stop everyone's batch
            out.failed[key] = f"{type(exc).__name__}: {exc}"
            continue
        if after is change.after:
            out.unchanged[type(update)] += 1
            continue
        out.applied[type(update)] += 1
        change.after = after
        changed.add(key)
    for key in changed:
        for topic, offset in newest.get(key, {}).items():
            working[key].after = working[key].after.with_applied(topic, offset)
    out.changes = {
        k: working[k]
        for k in changed
        if k not in out.failed and working[k].after != working[k].before
    }
    return out
