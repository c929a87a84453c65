"""The sticky store's memory bound and eviction, and its writer's stop."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

from services.evaluation.sticky import StickyPersistence, StickyStore

ENTITIES = 1_000_000
BYTES_PER_ENTITY = 200


def test_a_million_sticky_entities_fit_in_200_bytes_each() -> None:
    ids = [f"user-{i:08d}" for i in range(ENTITIES)]  # what requests would hand us
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    store = StickyStore(capacity=2 * ENTITIES)
    for i, entity in enumerate(ids):
        store.put("p/e@1", entity, ("control", "treatment")[i % 2], persist=False)
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    # The entity id strings belong to the request; count them too, to be honest.
    per_entity = (used + sum(len(s) + 49 for s in ids)) / ENTITIES
    print(f"sticky store: {per_entity:.0f} bytes per entity at {ENTITIES} entities")
    assert per_entity <= BYTES_PER_ENTITY
    assert store.get("p/e@1", "user-00000001") == "treatment"


def test_capacity_evicts_the_oldest() -> None:
    store = StickyStore(capacity=3)
    for i in range(5):
        store.put("x", f"u{i}", "t")
    assert store.size == 3
    assert store.get("x", "u0") is None and store.get("x", "u4") == "t"
    assert len(store.drain()) == 5


class FakePool:
    """Records sticky rows; can refuse writes, and makes each take a while."""

    def __init__(self, refusals: int = 0) -> None:
        self.rows: set[tuple[str, str, str]] = set()
        self.refusals = refusals
        self.writing = asyncio.Event()

    async def execute(self, _query: str, keys: list[str], ids: list[str], ts: list[str]) -> None:
        self.writing.set()
        await asyncio.sleep(0.02)
        if self.refusals:
            self.refusals -= 1
            raise ConnectionRefusedError(111, "Connection refused")
        self.rows.update(zip(keys, ids, ts, strict=True))


async def test_a_stop_in_the_middle_of_a_write_loses_nothing() -> None:
    store = StickyStore()
    pool = FakePool()
    persistence = StickyPersistence(pool, store, interval=0.01)  # type: ignore[arg-type]
    await persistence.start()
    for i in range(50):
        store.put("x", f"u{i}", "t")
    await pool.writing.wait()
    for i in range(50, 80):  # assigned while the first batch is on its way
        store.put("x", f"u{i}", "t")
    await persistence.stop()
    assert pool.rows == {("x", f"u{i}", "t") for i in range(80)}


async def test_a_refused_write_is_kept_and_retried_also_at_stop() -> None:
    store = StickyStore()
    pool = FakePool(refusals=3)
    persistence = StickyPersistence(pool, store, interval=0.01)  # type: ignore[arg-type]
    store.put("x", "u1", "t")
    assert not await persistence.flush()
    assert store.pending == [("x", "u1", "t")]
    await persistence.start()
    await persistence.stop()  # refused twice more, then written
    assert pool.rows == {("x", "u1", "t")} and not store.pending
