"""Timer: publish the aggregate cells changed since the last round to the compacted topic."""

from __future__ import annotations

from services.processor.agents import partition_cells
from services.processor.app import app, settings
from shared import topics
from shared.streams import CellRecord

aggregates_topic = app.topic(topics.AGGREGATES, key_serializer="raw", value_serializer="raw")


@app.timer(interval=settings.snapshot_interval)
async def publish_snapshots() -> None:
    for (partition, experiment, (metric, treatment, bucket)), cell in partition_cells.take_dirty():
        record = CellRecord(
            experiment, metric, treatment, bucket, settings.bucket_seconds, partition, cell
        )
        await aggregates_topic.send(key=record.key(), value=record.encode())
