"""The event store: append at an expected version, read by stream and by position.

Two stores keep one contract (``tests/integration/test_eventstore.py`` runs the
same tests on both): ``EventStore`` on Postgres, and ``InMemoryEventStore`` for
the application's unit tests and anything else that wants no database.

On Postgres, appends take an EXCLUSIVE lock on the table, so positions commit in
the order they are assigned and a follower reading "position > last" never skips
one that commits later with a smaller number. Reads (ACCESS SHARE) are not blocked.

A database that cannot be reached is ``StoreUnavailable``, a 503 that boto3
retries, never an internal error: connecting, waiting for a pooled connection and
each statement are bounded, so a caller learns it within seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime

import asyncpg

from shared import serialization
from shared.envelope import Envelope, NewEvent, upcast
from shared.errors import ServiceUnavailableException
from shared.observability import EVENTSTORE_APPEND

NOTIFY_CHANNEL = "verdict_events"

# Bounds on waiting for the database, in seconds. A refused connection fails at
# once; these cover a server that accepts and then says nothing (stopped, or
# partitioned away), where asyncpg would otherwise wait 60 s or forever.
CONNECT_TIMEOUT = 3.0
ACQUIRE_TIMEOUT = 3.0
COMMAND_TIMEOUT = 15.0

# What says the database could not be reached, as opposed to what a statement did:
# refused or lost connections (OSError covers TimeoutError), the server shutting
# down or starting up (class 57), or out of connection slots.
UNREACHABLE: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
)


class ConcurrencyError(Exception):
    """The stream was not at the expected version."""

    def __init__(self, stream: str, expected: int, actual: int | None) -> None:
        super().__init__(f"stream {stream} is at version {actual}, expected {expected}")
        self.stream = stream
        self.expected = expected
        self.actual = actual


class StoreUnavailable(ServiceUnavailableException):
    """The database did not answer. Nothing was appended unless the connection was
    lost while the commit was in flight, the one case a retry can repeat a change."""

    def __init__(self) -> None:
        super().__init__("the database is unreachable; the request was not applied, retry later")


@contextlib.contextmanager
def reaching_database() -> Iterator[None]:
    """Turn the ways of not reaching Postgres into ``StoreUnavailable``."""
    try:
        yield
    except UNREACHABLE as exc:
        raise StoreUnavailable() from exc


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda v: serialization.dumps(v).decode(),
        decoder=serialization.loads,
        schema="pg_catalog",
    )


async def create_pool(database_url: str, *, min_size: int = 1, max_size: int = 5) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        database_url,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        timeout=CONNECT_TIMEOUT,
        command_timeout=COMMAND_TIMEOUT,
    )
    assert pool is not None
    return pool


def _envelope(row: asyncpg.Record) -> Envelope:
    return upcast(
        Envelope(
            stream=row["stream_id"],
            version=row["stream_version"],
            position=row["position"],
            type=row["event_type"],
            schema_version=row["schema_version"],
            occurred_at=row["recorded_at"],
            payload=row["payload"],
            metadata=row["metadata"],
        )
    )


class EventStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def append(
        self, stream: str, expected_version: int, events: Sequence[NewEvent]
    ) -> list[Envelope]:
        """Append events after ``expected_version`` (0 for a new stream), atomically."""
        started = time.perf_counter()
        with reaching_database():
            rows = await self._insert(stream, expected_version, events)
        EVENTSTORE_APPEND.observe(time.perf_counter() - started)
        return [_envelope(r) for r in rows]

    async def _insert(
        self, stream: str, expected_version: int, events: Sequence[NewEvent]
    ) -> list[asyncpg.Record]:
        async with self.pool.acquire(timeout=ACQUIRE_TIMEOUT) as conn, conn.transaction():
            await conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
            actual = await conn.fetchval(
                "SELECT max(stream_version) FROM events WHERE stream_id = $1", stream
            )
            if (actual or 0) != expected_version:
                raise ConcurrencyError(stream, expected_version, actual)
            rows: list[asyncpg.Record] = []
            for offset, event in enumerate(events, start=1):
                rows.append(
                    await conn.fetchrow(
                        "INSERT INTO events (stream_id, stream_version, event_type,"
                        " schema_version, payload, metadata) VALUES ($1, $2, $3, $4, $5, $6)"
                        " RETURNING *",
                        stream,
                        expected_version + offset,
                        event.type,
                        event.schema_version,
                        event.payload,
                        event.metadata,
                    )
                )
            await conn.execute(
                "SELECT pg_notify($1, $2)", NOTIFY_CHANNEL, str(rows[-1]["position"])
            )
        return rows

    async def read_stream(self, stream: str) -> list[Envelope]:
        rows = await self._fetch(
            "SELECT * FROM events WHERE stream_id = $1 ORDER BY stream_version", stream
        )
        return [_envelope(r) for r in rows]

    async def read_after(self, position: int, limit: int = 1000) -> list[Envelope]:
        rows = await self._fetch(
            "SELECT * FROM events WHERE position > $1 ORDER BY position LIMIT $2", position, limit
        )
        return [_envelope(r) for r in rows]

    async def head(self) -> int:
        rows = await self._fetch("SELECT coalesce(max(position), 0) AS head FROM events")
        return int(rows[0]["head"])

    async def _fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        # Pool.fetch would wait for a connection without bound.
        with reaching_database():
            async with self.pool.acquire(timeout=ACQUIRE_TIMEOUT) as conn:
                rows: list[asyncpg.Record] = await conn.fetch(query, *args)
                return rows


class InMemoryEventStore:
    """The same contract in a process's memory: versions checked, positions gap-free.

    Payloads are deep-copied in and out, as a round trip through a database would,
    so a caller can never change what was stored. ``on_append`` plays the part of
    NOTIFY: a feed can be woken by it."""

    def __init__(self) -> None:
        self._events: list[Envelope] = []
        self._versions: dict[str, int] = {}
        self._lock = asyncio.Lock()
        self.on_append: list[Callable[[int], object]] = []

    async def append(
        self, stream: str, expected_version: int, events: Sequence[NewEvent]
    ) -> list[Envelope]:
        async with self._lock:
            actual = self._versions.get(stream)
            if (actual or 0) != expected_version:
                raise ConcurrencyError(stream, expected_version, actual)
            now = datetime.now(UTC)
            appended = [
                Envelope(
                    stream=stream,
                    version=expected_version + offset,
                    position=len(self._events) + offset,
                    type=event.type,
                    schema_version=event.schema_version,
                    occurred_at=now,
                    payload=copy.deepcopy(event.payload),
                    metadata=copy.deepcopy(event.metadata),
                )
                for offset, event in enumerate(events, start=1)
            ]
            self._events.extend(appended)
            self._versions[stream] = expected_version + len(appended)
        for wake in self.on_append:
            wake(appended[-1].position)
        return [_copy(e) for e in appended]

    async def read_stream(self, stream: str) -> list[Envelope]:
        return [_copy(e) for e in self._events if e.stream == stream]

    async def read_after(self, position: int, limit: int = 1000) -> list[Envelope]:
        start = max(0, position)
        return [_copy(e) for e in self._events[start : start + limit]]

    async def head(self) -> int:
        return len(self._events)


def _copy(envelope: Envelope) -> Envelope:
    return upcast(copy.deepcopy(envelope))
