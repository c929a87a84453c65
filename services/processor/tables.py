"""The one Kafka-backed table: each (experiment, entity)'s state, the source of truth.

A row is written to the changelog partition of the record being processed;
observations and assignments of one entity share that partition number
because both topics place an entity in its entity partition
(``topics.entity_partition``) with the same partition count. The row keeps
its partition, so aggregates can be rebuilt per partition.
"""

from __future__ import annotations

from services.processor.app import app, settings

ENTITIES = "entities"

entities = app.Table(ENTITIES, default=None, partitions=settings.topic_partitions, key_type=str)
