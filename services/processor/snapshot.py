"""Timer: publish the aggregate cells changed since the last round to the compacted topic."""

from __future__ import annotations

from services.processor.agents import aggregates
from services.processor.app import app, settings
from shared import serialization, topics

aggregates_topic = app.topic(topics.AGGREGATES, key_serializer="raw", value_serializer="raw")


def cell_key(partition: int, experiment: str, metric: str, treatment: str, bucket: int) -> str:
    return f"{experiment}|{metric}|{treatment}|{bucket}|{partition}"


@app.timer(interval=settings.snapshot_interval)
async def publish_snapshots() -> None:
    for (partition, experiment, (metric, treatment, bucket)), cell in aggregates.take_dirty():
        value = {
            **cell.to_json(),
            "experimentKey": experiment,
            "metric": metric,
            "treatment": treatment,
            "bucket": bucket,
            "bucketSeconds": settings.bucket_seconds,
            "partition": partition,
        }
        await aggregates_topic.send(
            key=cell_key(partition, experiment, metric, treatment, bucket).encode(),
            value=serialization.dumps(value),
        )
