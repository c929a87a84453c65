"""Sticky assignments: in memory for the hot path, persisted to Postgres off it.

The memory store is bounded: past ``capacity`` entries the oldest are dropped
(an entity dropped and seen again is re-assigned by hash, which matches its
old treatment unless the weights changed since). New assignments queue for a
batched writer; the request never waits on Postgres.

A stop (SIGTERM) lets the writer finish the batch it holds and writes what is
left, retrying for a while if Postgres is briefly away; only a kill loses
assignments, at most the last ``interval`` of them (and what queued while
Postgres was down).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import time
from collections.abc import Iterable

import asyncpg

from shared.eventstore import UNREACHABLE

log = logging.getLogger(__name__)


class StickyStore:
    """experiment key -> {entity id -> treatment}; treatments interned: a value is a pointer."""

    def __init__(self, capacity: int = 2_000_000) -> None:
        self.capacity = capacity
        self.by_experiment: dict[str, dict[str, str]] = {}
        self.size = 0
        self.pending: list[tuple[str, str, str]] = []

    def get(self, experiment: str, entity_id: str) -> str | None:
        assigned = self.by_experiment.get(experiment)
        return None if assigned is None else assigned.get(entity_id)

    def put(self, experiment: str, entity_id: str, treatment: str, *, persist: bool = True) -> None:
        assigned = self.by_experiment.setdefault(experiment, {})
        if entity_id not in assigned:
            self.size += 1
        assigned[entity_id] = sys.intern(treatment)
        if persist:
            self.pending.append((experiment, entity_id, treatment))
        if self.size > self.capacity:
            self._evict()

    def _evict(self) -> None:
        # dicts keep insertion order: the first key is the oldest assignment.
        largest = max(self.by_experiment.values(), key=len)
        del largest[next(iter(largest))]
        self.size -= 1

    def load(self, rows: Iterable[tuple[str, str, str]]) -> None:
        for experiment, entity_id, treatment in rows:
            self.put(experiment, entity_id, treatment, persist=False)

    def drain(self) -> list[tuple[str, str, str]]:
        batch, self.pending = self.pending, []
        return batch


class StickyPersistence:
    """Loads assignments of running experiments at start; writes new ones in batches."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        store: StickyStore,
        interval: float = 0.1,
        stop_deadline: float = 10.0,
    ) -> None:
        self.pool = pool
        self.store = store
        self.interval = interval
        # How long a stop keeps retrying a write Postgres refuses, before giving up.
        self.stop_deadline = stop_deadline
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._failing = False
        self.written = 0

    async def load(self, experiment_keys: Iterable[str]) -> int:
        keys = list(experiment_keys)
        if not keys:
            return 0
        rows = await self.pool.fetch(
            "SELECT experiment_key, entity_id, treatment FROM sticky_assignments"
            " WHERE experiment_key = ANY($1::text[])",
            keys,
        )
        self.store.load((r["experiment_key"], r["entity_id"], r["treatment"]) for r in rows)
        return len(rows)

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="sticky-writer")

    async def stop(self) -> None:
        # No cancellation: one arriving during a write would lose the batch in hand.
        self._stopping.set()
        if self._task is not None:
            await self._task
            self._task = None
        deadline = time.monotonic() + self.stop_deadline
        while not await self.flush() and time.monotonic() < deadline:
            await asyncio.sleep(self.interval)
        if self.store.pending:
            log.error(
                "%d sticky assignments not written at stop: Postgres unreachable",
                len(self.store.pending),
            )

    async def flush(self) -> bool:
        """Write what is pending; False if Postgres refused it (kept for the next round)."""
        batch = self.store.drain()
        if not batch:
            return True
        try:
            await self.pool.execute(
                "INSERT INTO sticky_assignments (experiment_key, entity_id, treatment)"
                " SELECT * FROM unnest($1::text[], $2::text[], $3::text[])"
                " ON CONFLICT (experiment_key, entity_id) DO NOTHING",
                [b[0] for b in batch],
                [b[1] for b in batch],
                [b[2] for b in batch],
            )
        except (*UNREACHABLE, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # Keep them for the next round: an assignment is never silently lost.
            # Logged once per outage, not every interval.
            if not self._failing:
                log.warning("sticky assignment writes failing, retrying: %r", exc)
            self._failing = True
            self.store.pending[:0] = batch
            return False
        if self._failing:
            log.info("sticky assignment writes succeed again")
        self._failing = False
        self.written += len(batch)
        return True

    async def _run(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)
            await self.flush()
