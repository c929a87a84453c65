"""The event feed: delivers new events in global order to a subscriber.

LISTEN/NOTIFY wakes the follower; it then catches up by position, so a lost
notification, a dropped connection or a restart never loses an event. A slow
poll backs the notifications up. Without a database URL (an in-memory store),
the store's own append hook wakes it instead.

While the database cannot be reached the feed keeps retrying and says so
(``failing``), which readiness reports; it recovers by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

import asyncpg

from shared.envelope import Envelope
from shared.eventstore import (
    CONNECT_TIMEOUT,
    NOTIFY_CHANNEL,
    UNREACHABLE,
    InMemoryEventStore,
    StoreUnavailable,
)
from shared.observability import PROJECTION_LAG, PROJECTION_POSITION

log = logging.getLogger(__name__)

Subscriber = Callable[[Envelope], object]


class Readable(Protocol):
    async def read_after(self, position: int, limit: int = 1000) -> list[Envelope]: ...


class Feed:
    def __init__(
        self,
        store: Readable,
        database_url: str | None,
        subscriber: Subscriber,
        *,
        poll_interval: float = 1.0,
        after_batch: Callable[[], object] | None = None,
        name: str = "service",
    ) -> None:
        self.store = store
        self.name = name
        self.after_batch = after_batch
        self.database_url = database_url
        self.subscriber = subscriber
        self.poll_interval = poll_interval
        self.position = 0
        self.last_known = 0
        self._wake = asyncio.Event()
        self._advanced = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._stopping = False
        # Why the feed cannot follow the log now ("database unreachable"), until a
        # catch-up succeeds again: what readiness reports.
        self.failing: str | None = None

    async def start(self) -> None:
        """Catch up with the whole log, then follow it."""
        self._stopping = False
        await self.catch_up()
        if self.database_url is not None:
            await self._listen()
        elif isinstance(self.store, InMemoryEventStore):
            self.store.on_append.append(self._on_position)
        self._task = asyncio.create_task(self._run(), name="feed")

    async def stop(self) -> None:
        # The flag as well as the cancellation: on Python 3.11, asyncio.wait_for can
        # swallow a cancellation that arrives as its inner wait completes, and the
        # loop would then go on forever (seen with a 50 ms poll in the unit tests).
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if isinstance(self.store, InMemoryEventStore):
            with contextlib.suppress(ValueError):
                self.store.on_append.remove(self._on_position)
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()

    def poke(self) -> None:
        self._wake.set()

    async def wait_for(self, position: int, timeout: float = 10.0) -> None:
        """Return once every event up to ``position`` has been applied."""
        self.poke()
        async with self._advanced:
            await asyncio.wait_for(
                self._advanced.wait_for(lambda: self.position >= position), timeout
            )

    @property
    def lag(self) -> int:
        return max(0, self.last_known - self.position)

    async def catch_up(self) -> None:
        while True:
            batch = await self.store.read_after(self.position)
            for envelope in batch:
                self.subscriber(envelope)
                self.position = envelope.position
            if batch and self.after_batch is not None:
                self.after_batch()
            self.last_known = max(self.last_known, self.position)
            PROJECTION_POSITION.labels(self.name).set(self.position)
            PROJECTION_LAG.labels(self.name).set(self.lag)
            async with self._advanced:
                self._advanced.notify_all()
            if len(batch) == 0:
                return

    def _on_position(self, position: int) -> None:
        self.last_known = max(self.last_known, position)
        self._wake.set()

    async def _listen(self) -> None:
        conn = await asyncpg.connect(self.database_url, timeout=CONNECT_TIMEOUT)
        await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
        # A lost listener is the first sign of a database going away: look at once
        # rather than at the next poll.
        conn.add_termination_listener(lambda _conn: self._wake.set())
        self._listener = conn

    def _on_notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self._on_position(int(payload))
            PROJECTION_LAG.labels(self.name).set(self.lag)
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)
            self._wake.clear()
            try:
                if self.database_url is not None and (
                    self._listener is None or self._listener.is_closed()
                ):
                    await self._listen()
                await self.catch_up()
            except (
                OSError,
                asyncpg.PostgresError,
                asyncpg.InterfaceError,
                StoreUnavailable,
            ) as exc:
                # Logged once per outage, not once per poll.
                if self.failing is None:
                    log.warning("feed catch-up failed, retrying: %r", exc.__cause__ or exc)
                unreachable = isinstance(exc, (StoreUnavailable, *UNREACHABLE))
                self.failing = (
                    "database unreachable" if unreachable else f"catch-up failing: {exc!r}"
                )
                if self._listener is not None:
                    self._listener.terminate()
                self._listener = None
                await asyncio.sleep(self.poll_interval)
            else:
                if self.failing is not None:
                    log.info("feed caught up again after: %s", self.failing)
                self.failing = None
