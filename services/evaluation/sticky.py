"""Sticky assignments: in memory for the hot path, persisted to Postgres off it.

The memory store is bounded: past ``capacity`` entries the oldest are dropped
(an entity dropped and seen again is re-assigned by hash, which matches its
old treatment unless the weights changed since). New assignments queue for a
batched writer; the request never waits on Postgres.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Iterable

import asyncpg

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

    def __init__(self, pool: asyncpg.Pool, store: StickyStore, interval: float = 0.1) -> None:
        self.pool = pool
        self.store = store
        self.interval = interval
        self._task: asyncio.Task[None] | None = None
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
        self._task = asyncio.create_task(self._run(), name="sticky-writer")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def flush(self) -> None:
        batch = self.store.drain()
        if not batch:
            return
        try:
            await self.pool.execute(
                "INSERT INTO sticky_assignments (experiment_key, entity_id, treatment)"
                " SELECT * FROM unnest($1::text[], $2::text[], $3::text[])"
                " ON CONFLICT (experiment_key, entity_id) DO NOTHING",
                [b[0] for b in batch],
                [b[1] for b in batch],
                [b[2] for b in batch],
            )
            self.written += len(batch)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            # Keep them for the next round: an assignment is never silently lost.
            log.warning("sticky assignment write failed, retrying: %s", exc)
            self.store.pending[:0] = batch

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.flush()
