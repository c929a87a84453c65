"""Timer: publish the aggregate cells changed since the last round to the compacted topic.

Each processor partition's cells go to the topic partition of the same number, and once
the broker has them, a ``SnapshotMark`` closes the round for that partition: readers apply
a partition's cells only at its mark, so they never see half of an entity's move.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from services.processor.agents import partition_cells, rebuild_idle_partitions
from services.processor.app import app, settings
from shared import topics
from shared.streams import CellRecord, SnapshotMark, SnapshotReset

aggregates_topic = app.topic(topics.AGGREGATES, key_serializer="raw", value_serializer="raw")


@app.timer(interval=settings.snapshot_interval)
async def publish_snapshots() -> None:
    rebuild_idle_partitions()
    sent: dict[int, list[Any]] = defaultdict(list)
    for partition in partition_cells.take_reset():
        reset = SnapshotReset(partition)
        # Acknowledged before the partition's cells are sent: a reader meets it first.
        await (
            await aggregates_topic.send(key=reset.key(), value=reset.encode(), partition=partition)
        )
        sent[partition] = []
    for (partition, experiment, (metric, treatment, bucket)), cell in partition_cells.take_dirty():
        record = CellRecord(
            experiment, metric, treatment, bucket, settings.bucket_seconds, partition, cell
        )
        sent[partition].append(
            await aggregates_topic.send(
                key=record.key(), value=record.encode(), partition=partition
            )
        )
    for partition, deliveries in sent.items():
        await asyncio.gather(*deliveries)
        mark = SnapshotMark(partition)
        await aggregates_topic.send(key=mark.key(), value=mark.encode(), partition=partition)
