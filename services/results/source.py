"""Loads the processor's aggregates: its only I/O.

It reads the moments table's changelog (a compacted topic) from the start,
assigned every partition without a consumer group, and keeps the newest row
per key. Any number of processor workers write their partitions' rows; this
reader merges them, so it scales with the partitions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.domain.stats.moments import Moments

log = logging.getLogger(__name__)


class AggregateSource:
    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self.topic = topic
        self.bootstrap_servers = bootstrap_servers
        self.rows: dict[str, Moments] = {}
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            group_id=None,
        )
        self._task: asyncio.Task[None] | None = None
        self.applied = 0

    async def start(self) -> None:
        await self.consumer.start()
        self._task = asyncio.create_task(self._run(), name="aggregate-source")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.consumer.stop()

    async def _assign(self) -> None:
        # The changelog appears when the processor first writes; wait for it.
        while True:
            partitions = await self._partitions()
            if partitions:
                self.consumer.assign([TopicPartition(self.topic, p) for p in partitions])
                await self.consumer.seek_to_beginning()
                return
            await asyncio.sleep(0.5)

    async def _partitions(self) -> list[int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers)
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
        await self._assign()
        async for message in self.consumer:
            key = orjson.loads(message.key) if message.key is not None else None
            if not isinstance(key, str):
                continue
            if message.value is None:
                self.rows.pop(key, None)
            else:
                self.rows[key] = Moments.from_json(orjson.loads(message.value))
            self.applied += 1

    def rows_for(self, prefix: str) -> Iterator[tuple[str, Moments]]:
        return ((k, v) for k, v in list(self.rows.items()) if k.startswith(prefix))
