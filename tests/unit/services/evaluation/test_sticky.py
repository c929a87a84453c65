"""The sticky store's memory bound and eviction."""

from __future__ import annotations

import gc
import tracemalloc

from services.evaluation.sticky import StickyStore

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
