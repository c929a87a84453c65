"""Loads the processor's aggregate cells: the results service's only Kafka I/O.

It reads the compacted ``verdict.aggregates`` topic from the start, assigned
every partition without a consumer group, and keeps, per (experiment, metric,
treatment), the cells merged over partitions by bucket and rolled up per
minute, hour and day (``shared/domain/rollup.py``): a partition's newer row
replaces its older one inside the merge, at every level. A topic partition's
records are held until the ``SnapshotMark`` that closes them, then applied
together, so a request never sees half of a snapshot. Any number of processor
workers publish their partitions; a look costs a few merges of rolled-up cells,
whatever the number of buckets or events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared import kafka
from shared.domain.cells import Cell, CellKey
from shared.domain.rollup import Rollup, common_base
from shared.streams import (
    SNAPSHOT_MARK,
    SNAPSHOT_RESET,
    CellRecord,
    MalformedRecord,
    UnknownVersion,
    decode_aggregate,
)

log = logging.getLogger(__name__)

Arm = tuple[str, str]  # (metric, treatment)


class CellSource:
    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self.topic = topic
        self.bootstrap_servers = bootstrap_servers
        # Each applied record's series, bucket start and cell, taken out when it is replaced.
        self.rows: dict[bytes, tuple[Rollup, int, Cell]] = {}
        # Records of each topic partition read since its last snapshot mark, in order:
        # applied together at the next mark, never half a snapshot.
        self.staged: dict[int, list[tuple[bytes, bytes | None]]] = {}
        # Topic partitions whose staged snapshot opened with a reset, and the record keys
        # each partition's applied cells came from.
        self.resetting: set[int] = set()
        self.keys_of: dict[int, set[bytes]] = {}
        self.merged: dict[str, dict[Arm, Rollup]] = {}
        # Per experiment, the grid its cells roll up from: the bucket size, or the common
        # base of several (cells an older processor wrote per hour beside minute ones).
        self.bucket_seconds: dict[str, int] = {}
        self.applied = 0
        # Cells that could not be read (malformed, or of an unknown schema version).
        self.skipped = 0
        self.caught_up = asyncio.Event()
        self.consumer = AIOKafkaConsumer(
            **kafka.security(),
            bootstrap_servers=bootstrap_servers,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            group_id=None,
        )
        self._task: asyncio.Task[None] | None = None
        # Why the reading loop ended, if it did: the service then says it is not ready
        # instead of serving figures that silently stopped moving.
        self.failure: str | None = None

    @property
    def healthy(self) -> bool:
        return self.failure is None

    async def start(self) -> None:
        await self.consumer.start()
        self._task = asyncio.create_task(self._run(), name="aggregate-source")
        self._task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        self.failure = f"the aggregate reader stopped: {exc!r}"
        log.error("%s", self.failure, exc_info=exc)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.consumer.stop()

    def rollups(self, experiment: str) -> Mapping[Arm, Rollup]:
        return self.merged.get(experiment, {})

    def cells(self, experiment: str) -> Mapping[CellKey, Cell]:
        """The merged cells by bucket of ``bucket_seconds[experiment]``: costs a pass over
        them, for the raw aggregates, never for results."""
        base = self.bucket_seconds.get(experiment, 1)
        return {
            (metric, treatment, start // base): cell
            for (metric, treatment), rollup in self.rollups(experiment).items()
            for start, cell in rollup.cells().items()
        }

    async def _partitions(self) -> list[int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers, **kafka.security())
        await admin.start()
        try:
            if self.topic not in await admin.list_topics():
                return []
            described = await admin.describe_topics([self.topic])
        finally:
            await admin.close()
        for topic in described:
            if topic.get("topic") == self.topic and topic.get("error_code", 0) == 0:
                return sorted(p["partition"] for p in topic.get("partitions", []))
        return []

    async def _run(self) -> None:
        while not (partitions := await self._partitions()):
            await asyncio.sleep(0.5)
        tps = [TopicPartition(self.topic, p) for p in partitions]
        self.consumer.assign(tps)
        await self.consumer.seek_to_beginning()
        end = await self.consumer.end_offsets(tps)
        pending = {tp for tp, offset in end.items() if offset > 0}
        if not pending:
            self.caught_up.set()
        while True:
            batch = await self.consumer.getmany(timeout_ms=500)
            for tp, messages in batch.items():
                for message in messages:
                    self._read(tp.partition, message.key, message.value)
                    if tp in pending and message.offset + 1 >= end[tp]:
                        pending.discard(tp)
            if not pending:
                self.caught_up.set()

    def _read(self, partition: int, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        staged = self.staged.setdefault(partition, [])
        if value is not None and key.startswith(SNAPSHOT_RESET.encode()):
            # What was staged before a reset belongs to the snapshot it replaces.
            self.staged[partition] = []
            self.resetting.add(partition)
            return
        if value is not None and key.startswith(SNAPSHOT_MARK.encode()):
            self.staged[partition] = []
            if partition in self.resetting:
                self.resetting.discard(partition)
                for old in self.keys_of.pop(partition, set()):
                    self._apply(old, None)
            mine = self.keys_of.setdefault(partition, set())
            for cell_key, cell_value in staged:
                self._apply(cell_key, cell_value)
                if cell_value is None:
                    mine.discard(cell_key)
                else:
                    mine.add(cell_key)
            return
        staged.append((key, value))

    def _apply(self, key: bytes, value: bytes | None) -> None:
        record = None
        if value is not None:
            try:
                decoded = decode_aggregate(value)
            except (MalformedRecord, UnknownVersion) as exc:
                # The cell's last good value stays: a record this version cannot read
                # (a newer writer's, in a rolling upgrade) must not empty the cell.
                self.skipped += 1
                log.warning("skipping an aggregate cell: %s", exc)
                return
            if not isinstance(decoded, CellRecord):
                return
            record = decoded
        old = self.rows.pop(key, None)
        if old is not None:
            old[0].add(old[1], old[2], -1)
        if record is None:
            return
        experiment = record.experiment_key
        arms = self.merged.setdefault(experiment, {})
        base = self._base(experiment, record.bucket_seconds)
        arm = (record.metric, record.treatment)
        series = arms.get(arm)
        if series is None:
            series = arms[arm] = Rollup(base)
        # A bucket counts from the second it starts, whatever its size.
        start = record.bucket * record.bucket_seconds
        series.add(start, record.cell, +1)
        self.rows[key] = (series, start, record.cell)
        self.applied += 1

    def _base(self, experiment: str, bucket_seconds: int) -> int:
        """The experiment's grid, made finer (its series regrouped) when a bucket of another
        size arrives: rare, while processors move from hour to minute buckets."""
        current = self.bucket_seconds.get(experiment)
        base = common_base([bucket_seconds] if current is None else [current, bucket_seconds])
        if base != current:
            for series in self.merged.get(experiment, {}).values():
                series.rebase(base)
            self.bucket_seconds[experiment] = base
        return base
