"""Kafka topics Verdict owns, created at start with explicit partition counts."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)

# Metric events from PutProjectEvents and from producers writing directly, keyed
# by entity id. Schema in the README ("Sending events straight to Kafka").
EVENTS = "verdict.events"
# Assignment events from the evaluation service, keyed by entity id.
ASSIGNMENTS = "verdict.assignments"
# The processor's own re-keying: one record per (experiment metric, entity) a
# metric event feeds, keyed by entity so it meets that entity's assignments.
OBSERVATIONS = "verdict.observations"
# Per-bucket aggregate cells, compacted; the results service reads them.
AGGREGATES = "verdict.aggregates"

PROCESSOR_APP_ID = "verdict-processor"


def changelog(table: str) -> str:
    """faust-streaming names a table's changelog topic {app id}-{table}-changelog."""
    return f"{PROCESSOR_APP_ID}-{table}-changelog"


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    compacted: bool = False
    replication: int = 1


def verdict_topics(partitions: int, replication: int = 1) -> list[TopicSpec]:
    return [
        TopicSpec(EVENTS, partitions, replication=replication),
        TopicSpec(ASSIGNMENTS, partitions, replication=replication),
        TopicSpec(OBSERVATIONS, partitions, replication=replication),
        TopicSpec(AGGREGATES, partitions, compacted=True, replication=replication),
    ]


async def ensure_topics(bootstrap_servers: str, specs: list[TopicSpec]) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                s.name,
                num_partitions=s.partitions,
                replication_factor=s.replication,
                topic_configs={"cleanup.policy": "compact"} if s.compacted else {},
            )
            for s in specs
            if s.name not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
            log.info("created topics %s", [t.name for t in wanted])
    finally:
        await admin.close()
