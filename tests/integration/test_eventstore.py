"""The event store's contract, run on both stores: Postgres (a real server) and memory.

The same tests, parametrized: append at version, conflicts, concurrent writers,
feed order, catch-up from the log. A store that passes them can stand in for the
other; the application's unit tests rely on that for the in-memory one."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from infra.launch.infrastructure import Infrastructure
from shared.envelope import Envelope, NewEvent
from shared.eventstore import ConcurrencyError, EventStore, InMemoryEventStore, create_pool
from shared.feed import Feed
from shared.migrations import migrate, migration_files

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def database_url(infrastructure: Infrastructure) -> str:
    """A database of its own on the same server: these events are not Verdict's."""
    name = f"store_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(infrastructure.database_url)
    try:
        await conn.execute(f"CREATE DATABASE {name}")
    finally:
        await conn.close()
    base, _, _ = infrastructure.database_url.rpartition("/")
    return f"{base}/{name}"


Store = EventStore | InMemoryEventStore


@pytest.fixture(params=["postgres", "memory"])
async def backend(request: pytest.FixtureRequest, database_url: str):  # type: ignore[no-untyped-def]
    """(store, the URL a feed listens on: None for memory)."""
    if request.param == "memory":
        yield InMemoryEventStore(), None
        return
    await migrate(database_url)
    pool = await create_pool(database_url, max_size=10)
    yield EventStore(pool), database_url
    await pool.close()


@pytest.fixture
def store(backend: tuple[Store, str | None]) -> Store:
    return backend[0]


@pytest.fixture
def feed_url(backend: tuple[Store, str | None]) -> str | None:
    return backend[1]


def stream() -> str:
    return f"test-{uuid.uuid4().hex}"


async def test_migrations_are_recorded_once(database_url: str) -> None:
    await migrate(database_url)
    assert await migrate(database_url) == []
    conn = await asyncpg.connect(database_url)
    try:
        names = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
    finally:
        await conn.close()
    assert {p.name for p in migration_files()} <= names


async def test_append_then_read_back_in_order(store: Store) -> None:
    s = stream()
    first = await store.append(s, 0, [NewEvent("A", {"x": 1}), NewEvent("B", {"y": [1, 2]})])
    await store.append(s, 2, [NewEvent("C", {"nested": {"z": "é"}}, metadata={"requestId": "r"})])
    events = await store.read_stream(s)
    assert [(e.version, e.type) for e in events] == [(1, "A"), (2, "B"), (3, "C")]
    assert events[2].payload == {"nested": {"z": "é"}}
    assert events[2].metadata == {"requestId": "r"}
    assert first[1].position == first[0].position + 1


async def test_stale_expected_version_is_a_conflict(store: Store) -> None:
    s = stream()
    await store.append(s, 0, [NewEvent("A", {})])
    with pytest.raises(ConcurrencyError):
        await store.append(s, 0, [NewEvent("A", {})])
    with pytest.raises(ConcurrencyError):
        await store.append(s, 5, [NewEvent("A", {})])
    assert len(await store.read_stream(s)) == 1


async def test_concurrent_writers_at_one_version_exactly_one_wins(store: Store) -> None:
    s = stream()
    await store.append(s, 0, [NewEvent("Created", {})])

    async def writer(i: int) -> bool:
        try:
            await store.append(s, 1, [NewEvent("Updated", {"writer": i})])
            return True
        except ConcurrencyError:
            return False

    outcomes = await asyncio.gather(*(writer(i) for i in range(12)))
    assert sum(outcomes) == 1
    events = await store.read_stream(s)
    assert len(events) == 2
    assert events[1].payload == {"writer": outcomes.index(True)}


async def test_feed_delivers_every_event_in_global_order(
    store: Store, feed_url: str | None
) -> None:
    seen: list[Envelope] = []
    start = await store.head()
    feed = Feed(store, feed_url, seen.append, poll_interval=5.0)
    feed.position = start
    await feed.start()
    try:
        streams = [stream() for _ in range(5)]
        appended = await asyncio.gather(
            *(store.append(s, 0, [NewEvent("E", {"i": i}) for i in range(4)]) for s in streams)
        )
        last = max(e.position for batch in appended for e in batch)
        # NOTIFY (or the in-memory store's hook), not the 5 s poll, must wake the follower.
        await asyncio.wait_for(feed.wait_for(last), timeout=3.0)
    finally:
        await feed.stop()
    mine = [e for e in seen if e.stream in streams]
    assert len(mine) == 20
    positions = [e.position for e in seen]
    assert positions == sorted(positions) == list(range(start + 1, positions[-1] + 1))


async def test_a_new_follower_catches_up_from_the_log(store: Store, feed_url: str | None) -> None:
    s = stream()
    await store.append(s, 0, [NewEvent("E", {"i": i}) for i in range(3)])
    seen: list[Envelope] = []
    feed = Feed(store, feed_url, seen.append)
    await feed.start()
    await feed.stop()
    assert [e.payload["i"] for e in seen if e.stream == s] == [0, 1, 2]
    assert feed.position == await store.head()
