"""The feed over in-memory stores: it follows appends, stops and starts again, and says
when it cannot reach the log."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from shared.envelope import Envelope, NewEvent
from shared.eventstore import InMemoryEventStore, StoreUnavailable
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


class FlakyStore:
    """An in-memory log that can be made unreachable, as Postgres stopped."""

    def __init__(self) -> None:
        self.down = False
        self.events = [
            Envelope("s-1", 1, 1, "A", 1, datetime.now(UTC), {}, {}),
        ]

    async def read_after(self, position: int, limit: int = 1000) -> list[Envelope]:
        if self.down:
            raise StoreUnavailable()
        return self.events[position:]


async def test_a_feed_says_the_database_is_unreachable_until_it_is_back() -> None:
    store = FlakyStore()
    feed = Feed(store, None, lambda _e: None, poll_interval=0.02)
    await feed.start()
    try:
        assert feed.failing is None and feed.position == 1
        store.down = True
        await _until(lambda: feed.failing == "database unreachable")
        store.down = False
        await _until(lambda: feed.failing is None)
    finally:
        await feed.stop()


async def _until(condition: Callable[[], bool], timeout: float = 2.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)
