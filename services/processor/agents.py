"""The processor's streams: route metric events to observations; join them to assignments.

Routing is a task around ``router.EventRouter`` (stateless, so a plain
consumer). The join is a faust agent over the entity table, a batch at a time
(``take_events``): it decodes, calls the pure fold (``join.fold``), writes the
changed rows, and moves the aggregates. A batch's events are acknowledged only
after its changelog records are in the producer, and faust flushes the
producer before it commits offsets, so a crash replays a batch rather than
losing one; the fold makes a replay a no-op.

Batching is where the processor's throughput comes from (README, Benchmarks):
observations and assignments arrive as arrays, so faust's per-record cost is
paid per array, and a batch writes one changelog record per entity it changed.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import orjson

from services.processor.aggregates import PartitionAggregates
from services.processor.app import app, config, settings
from services.processor.join import Update, fold, split_entity_key, target
from services.processor.records import (
    AssignmentRecord,
    MalformedRecord,
    ObservationRecord,
    decode_assignments,
    decode_observations,
)
from services.processor.router import EventRouter
from services.processor.tables import LiveRow, entities, partition_of, state_of
from shared import topics
from shared.domain.aggregation import EntityState
from shared.observability import PROCESSOR_RECORDS

log = logging.getLogger(__name__)

P = settings.topic_partitions
# Up to this many Kafka records per batch, or what arrived within BATCH_WITHIN.
BATCH_MAX = 2000
BATCH_WITHIN = 0.02

# One agent reads both, so one worker holds partition p of each: an entity's
# observations and assignments meet in the same table partition.
joined_topic = app.topic(
    topics.OBSERVATIONS,
    topics.ASSIGNMENTS,
    key_serializer="raw",
    value_serializer="raw",
    partitions=P,
)
CHANGELOG = topics.changelog("entities")

aggregates = PartitionAggregates(settings.bucket_seconds)
# (topic, partition) -> next offset to process: the consumer-lag gauge's reference.
positions: dict[tuple[str, int], int] = {}


def _count(topic: str, counts: Counter[str]) -> None:
    for outcome, n in counts.items():
        if n:
            PROCESSOR_RECORDS.labels(topic, outcome).inc(n)


router = EventRouter(
    settings.kafka_bootstrap_servers or "",
    lambda project: config.specs.get(project, ()),
    P,
    settings.kafka_session_timeout_ms,
)


@app.task
async def route_events() -> None:
    await config.ready.wait()
    await router.run()


def _decode(topic: str, raw: bytes) -> list[Update]:
    if topic == topics.OBSERVATIONS:
        return list(decode_observations(raw))
    return list(decode_assignments(raw))


def _load(key: str) -> EntityState | None:
    row = entities.data.get(key)
    return state_of(row) if row is not None else None


def _states_of(partition: int) -> list[tuple[str, EntityState]]:
    """(experiment key, state) of every row of one partition."""
    return [
        (split_entity_key(key)[0], state_of(row))
        for key, row in entities.items()
        if row is not None and partition_of(row) == partition
    ]


async def _known(updates: list[Update], counts: Counter[str]) -> list[Update]:
    """The updates of experiments the configuration knows, catching up once if needed."""
    metrics = config.metrics
    if any(target(u)[0] not in metrics for u in updates):
        await config.follower.catch_up()
        metrics = config.metrics
    known = [u for u in updates if target(u)[0] in metrics]
    counts["unknown_experiment"] += len(updates) - len(known)
    return known


async def _join_partition(partition: int, updates: list[Update]) -> None:
    folded = fold(updates, _load)
    for kind, topic in (
        (ObservationRecord, topics.OBSERVATIONS),
        (AssignmentRecord, topics.ASSIGNMENTS),
    ):
        _count(topic, Counter(applied=folded.applied[kind], unchanged=folded.unchanged[kind]))
    for key, change in folded.changes.items():
        row = {**change.after.to_json(), "p": partition}
        entities.data[key] = LiveRow(partition, change.after)
        # Straight to the producer: faust's table assignment queues the changelog
        # record in a buffer that its flush-before-commit can miss (a SIGKILL then
        # lost rows whose offsets were committed); a record in the producer is
        # flushed before the batch's offsets are committed.
        await app.producer.send(
            CHANGELOG, orjson.dumps(key), orjson.dumps(row), partition, None, None
        )
        aggregates.contribute(
            partition,
            change.experiment,
            config.metrics[change.experiment],
            change.before,
            change.after,
        )
    if log.isEnabledFor(logging.DEBUG):
        for update in updates:
            if isinstance(update, AssignmentRecord):
                log.debug(
                    "exposure applied",
                    extra={
                        "requestId": update.request_id,
                        "experiment": update.experiment_key,
                        "entityId": update.entity_id,
                        "partition": partition,
                    },
                )


@app.agent(joined_topic)
async def join(stream: Any) -> None:
    await config.ready.wait()
    async for batch in stream.take_events(BATCH_MAX, within=BATCH_WITHIN):
        by_partition: dict[int, list[Update]] = {}
        counts = {topics.OBSERVATIONS: Counter[str](), topics.ASSIGNMENTS: Counter[str]()}
        for event in batch:
            message = event.message
            partition = message.partition
            positions[(message.topic, partition)] = message.offset + 1
            try:
                updates = _decode(message.topic, event.value)
            except MalformedRecord as exc:
                counts[message.topic]["malformed"] += 1
                log.warning("skipping a malformed record: %s", exc)
                continue
            by_partition.setdefault(partition, []).extend(
                await _known(updates, counts[message.topic])
            )
        for partition, updates in by_partition.items():
            if partition not in aggregates.built:
                rebuilt = aggregates.rebuild(partition, _states_of(partition), config.metrics)
                log.info("partition %d: aggregates rebuilt from %d entity rows", partition, rebuilt)
            await _join_partition(partition, updates)
        for topic, topic_counts in counts.items():
            _count(topic, topic_counts)


async def on_revoked(sender: Any, revoked: set[Any], **kwargs: Any) -> None:
    aggregates.revoke({tp.partition for tp in revoked if tp.topic == topics.OBSERVATIONS})


app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]
