"""The join's batch fold: one row write per entity, the same state as one write per update."""

from __future__ import annotations

import random
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from services.processor.join import (
    Update,
    entity_key,
    fold,
    split_entity_key,
    step,
    target,
)
from shared.domain.entity import EntityState
from shared.domain.observations import Observation
from shared.streams import Exposure, Observed

X = "shop/exp@1.0"
BUCKET = 60


def exposure(entity: str, treatment: str, at: float) -> Exposure:
    return Exposure(X, entity, treatment, at)


def event(entity: str, value: float, at: float, event_id: int) -> Observed:
    return Observed(Observation(X, "revenue", entity, value), at, event_id)


def one_at_a_time(updates: list[Update], stored: dict[str, EntityState]) -> dict[str, EntityState]:
    """The reference: what writing each update separately leaves in the table."""
    table = dict(stored)
    for u in updates:
        key = entity_key(*target(u))
        table[key] = step(table.get(key) or EntityState(BUCKET), u)
    return table


def test_a_batch_writes_each_entity_once_with_every_update_applied() -> None:
    updates: list[Update] = [
        event("a", 1.0, 10.0, 1),
        exposure("a", "t1", 5.0),
        event("a", 2.0, 11.0, 2),
        event("b", 3.0, 12.0, 3),
        event("a", 2.0, 11.0, 2),  # a duplicate delivery inside the batch
    ]
    folded = fold(updates, lambda key: None, BUCKET)
    assert set(folded.changes) == {entity_key(X, "a"), entity_key(X, "b")}
    a = folded.changes[entity_key(X, "a")]
    assert a.before is None and a.experiment == X
    assert a.after.treatment == "t1" and a.after.exposed_at == 5.0
    assert a.after.history("revenue").recent == (1, 2)
    # Both events fall after the exposure (at 10 s and 11 s; it is at 5 s), whatever
    # their arrival order: one slot, two events.
    assert a.after.history("revenue").after == ((0, 3.0, 2),)
    assert folded.applied[Observed] == 3
    assert folded.applied[Exposure] == 1
    assert folded.unchanged[Observed] == 1


def test_a_replayed_batch_changes_nothing_and_writes_nothing() -> None:
    updates: list[Update] = [exposure("a", "c", 5.0), event("a", 1.0, 6.0, 7)]
    first = fold(updates, lambda key: None, BUCKET)
    stored = {k: c.after for k, c in first.changes.items()}
    again = fold(updates, stored.get, BUCKET)
    assert again.changes == {}
    assert sum(again.applied.values()) == 0
    assert sum(again.unchanged.values()) == 2


def test_the_stored_state_is_the_starting_point() -> None:
    stored = {
        entity_key(X, "a"): EntityState(BUCKET)
        .with_exposure("c", 1.0)
        .with_event("revenue", 2.0, 1.0, 9)
    }
    folded = fold([event("a", 4.0, 3.0, 10)], stored.get, BUCKET)
    change = folded.changes[entity_key(X, "a")]
    assert change.before == stored[entity_key(X, "a")]
    assert change.after.treatment == "c"
    assert change.after.history("revenue").recent == (9, 10)
    assert change.after.history("revenue").after == ((0, 5.0, 2),)


def test_an_entity_key_splits_back_even_when_the_entity_id_holds_the_separator() -> None:
    assert split_entity_key(entity_key(X, "a|b")) == (X, "a|b")


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=2**32), st.integers(min_value=1, max_value=60))
def test_folding_a_batch_equals_writing_each_update(seed: int, size: int) -> None:
    rng = random.Random(seed)
    entities = [f"u{i}" for i in range(4)]
    updates: list[Update] = []
    for _ in range(size):
        entity = rng.choice(entities)
        if rng.random() < 0.3:
            updates.append(exposure(entity, rng.choice(["c", "t"]), rng.uniform(0, 100)))
        else:
            updates.append(
                event(entity, rng.uniform(-5, 5), rng.uniform(0, 100), rng.randint(0, 20))
            )
    split = rng.randint(0, size)
    stored = one_at_a_time(updates[:split], {})
    rest = updates[split:]
    folded = fold(rest, stored.get, BUCKET)
    expected = one_at_a_time(rest, stored)
    table = {**stored, **{k: c.after for k, c in folded.changes.items()}}
    assert table == expected
    for key, change in folded.changes.items():
        assert change.before == stored.get(key)
        assert change.after != change.before


def test_an_entity_row_round_trips_through_json_with_its_types() -> None:
    import orjson

    state = (
        EntityState(BUCKET)
        .with_event("revenue", 1.0, 2.5, 2**63 - 1)
        .with_exposure("t", 5.5)
        .with_event("revenue", 7.0, -1.0, 3)
    )
    row = orjson.loads(orjson.dumps(state.to_json()))
    back = EntityState.from_json(row, BUCKET)
    assert back == state
    history = back.history("revenue")
    assert history.fine == ((1, 2.5, 1),) and history.after == ((0, -1.0, 1),)
    assert [type(v) for v in history.fine[0]] == [int, float, int]


def test_a_row_that_kept_every_event_is_read_in_the_bounded_form() -> None:
    old = {"t": "t", "x": 5.5, "e": {"revenue": [[1.0, 2.5, 11], [7.0, -1.0, 3], [7.0, -1.0, 3]]}}
    back = EntityState.from_json(old, BUCKET)
    assert back.treatment == "t" and back.exposed_at == 5.5
    assert back.history("revenue").recent == (11, 3)
    assert back.history("revenue").after == ((0, -1.0, 1),)


def test_an_update_that_fails_sets_its_entity_aside_and_no_one_else() -> None:
    bad = event("bad", float("nan"), 1.0, 1)
    good = event("good", 1.0, 1.0, 2)
    stored = {entity_key(X, "bad"): EntityState(BUCKET).with_exposure("c", 0.0)}

    def load(key: str) -> EntityState | None:
        state = stored.get(key)
        if state is not None and key.endswith("|bad"):
            # A state whose history cannot take an event: a stand-in for a bug.
            return replace(state, metrics={"revenue": None})  # type: ignore[dict-item]
        return state

    folded = fold([bad, good, exposure("bad", "t", 0.5)], load, BUCKET)
    assert set(folded.failed) == {entity_key(X, "bad")}
    assert set(folded.changes) == {entity_key(X, "good")}


def test_a_replayed_batch_is_recognised_by_offset_beyond_the_event_id_horizon() -> None:
    """A crash replays up to a whole batch; an entity with more events in it than the
    row remembers ids for (128 per metric) must still count each once."""
    updates: list[Update] = [exposure("whale", "c", 0.0)]
    updates += [event("whale", 1.0, 10.0 + i, 1000 + i) for i in range(300)]
    sources = [("verdict.assignments", 7)] + [
        ("verdict.observations", 40 + i // 50) for i in range(300)
    ]
    first = fold(updates, lambda key: None, BUCKET, sources)
    key = entity_key(X, "whale")
    stored = {key: first.changes[key].after}
    assert stored[key].applied == {"verdict.assignments": 7, "verdict.observations": 45}
    again = fold(updates, stored.get, BUCKET, sources)
    assert again.changes == {}
    assert sum(again.unchanged.values()) == 301
    # Without offsets only the last 128 ids would be known: the rest would count again.
    blind = fold(updates, stored.get, BUCKET)
    assert key in blind.changes
    # A later record still applies.
    later = fold(
        [event("whale", 5.0, 999.0, 9999)], stored.get, BUCKET, [("verdict.observations", 46)]
    )
    assert later.changes[key].after.applied["verdict.observations"] == 46
