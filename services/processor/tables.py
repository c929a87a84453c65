"""Kafka-backed tables: running moments, one row per (project, metric, partition).

A row carries its source partition in its key. faust writes a table row to
the changelog partition of the event being processed, so rows from two
partitions that one worker holds would otherwise overwrite each other; the
results service merges the partitions' rows (Chan et al., 1979).

Every row is written only by events of its own partition, in offset order, so
the row keeps the last offset it applied: delivery is at least once, and a
replayed event leaves the row as it is.
"""

from __future__ import annotations

from services.processor.app import app, settings

MOMENTS = "moments"

moments = app.Table(
    MOMENTS,
    default=None,
    partitions=settings.topic_partitions,
    key_type=str,
)


def moments_key(project: str, metric: str, partition: int) -> str:
    return f"{project}|{metric}|{partition}"
