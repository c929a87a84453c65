"""The feed over the in-memory store: it follows appends, and stops and starts again."""

from __future__ import annotations

import asyncio

from shared.envelope import Envelope, NewEvent
from shared.eventstore import InMemoryEventStore
from shared.feed import Feed


async def test_a_feed_stops_and_starts_again() -> None:
    store = InMemoryEventStore()
    seen: list[Envelope] = []
    feed = Feed(store, None, seen.append, poll_interval=5.0)
    await feed.start()
    await store.append("s-1", 0, [NewEvent("A", {})])
    await asyncio.wait_for(feed.wait_for(1), 2.0)
    await feed.stop()
    assert store.on_append == []
    await store.append("s-1", 1, [NewEvent("B", {})])
    await feed.start()  # catches up with what came while it was stopped
    await store.append("s-1", 2, [NewEvent("C", {})])
    # The append hook, not the 5 s poll, wakes it.
    await asyncio.wait_for(feed.wait_for(3), 2.0)
    await feed.stop()
    assert [e.type for e in seen] == ["A", "B", "C"]
    assert await store.read_after(-5) == await store.read_after(0)
