"""The one Kafka-backed table: each (experiment, entity)'s state, the source of truth.

A row is written to the changelog partition of the record being processed;
observations and assignments of one entity share that partition number
because both topics are keyed by entity id with the same partition count. The
row keeps its partition, so aggregates can be rebuilt per partition.
"""

from __future__ import annotations

from services.processor.app import app, settings

ENTITIES = "entities"

entities = app.Table(ENTITIES, default=None, partitions=settings.topic_partitions, key_type=str)


def entity_key(experiment_key: str, entity_id: str) -> str:
    return f"{experiment_key}|{entity_id}"


def split_entity_key(key: str) -> tuple[str, str]:
    experiment, _, entity = key.partition("|")
    return experiment, entity
