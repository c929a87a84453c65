"""The processor's streams: route metric events to observations; join them to assignments.

Routing is a task around ``router.EventRouter`` (stateless, so a plain
consumer). The join is a faust agent over the entity table, a batch at a time
(``take_events``): it decodes, calls the pure fold (``join.fold``), writes the
changed rows, and moves the statistics cells. A batch's events are acknowledged only
after its changelog records are in the producer, and faust flushes the
producer before it commits offsets, so a crash replays a batch rather than
losing one; the fold makes a replay a no-op: a row remembers the offset of the last
record of each topic it took, and, for records written again by the router, the ids of
its last 128 events per metric (``domain/entity.py``).

Batching is where the processor's throughput comes from (README, Benchmarks):
observations and assignments arrive as arrays, so faust's per-record cost is
paid per array, and a batch writes one changelog record per entity it changed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import time
from collections import Counter
from collections.abc import Awaitable
from typing import Any

from services.processor.app import app, config, settings
from services.processor.cells import PartitionCells
from services.processor.join import (
    Source,
    Update,
    entity_key,
    entity_of,
    fold,
    split_entity_key,
    target,
)
from services.processor.router import EventRouter
from services.processor.tables import LiveRow, entities, partition_of, state_of
from shared import topics
from shared.domain.entity import DEFAULT_RULES, EntityState, Rules
from shared.observability import count_records, forget_lag
from shared.streams import (
    ITEMS_PER_RECORD,
    Decoded,
    Exposure,
    MalformedRecord,
    Observed,
    QuarantineRecord,
    decode_exposures,
    decode_observations,
    encode_assignments,
    encode_entity_row,
    encode_observations,
    encode_within,
)

log = logging.getLogger(__name__)

P = settings.topic_partitions
# An entity row never grows past this (``domain/entity.py`` bounds it); one that would
# is a bug, and its updates are set aside rather than written.
MAX_ROW_BYTES = 96 * 1024
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

partition_cells = PartitionCells(settings.bucket_seconds)
# (topic, partition) -> next offset to process: the consumer-lag gauge's reference.
positions: dict[tuple[str, int], int] = {}


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


def _decode(topic: str, raw: bytes) -> Decoded[Update]:
    """The updates in one record, and how many of its items were skipped."""
    decoded: Decoded[Observed] | Decoded[Exposure] = (
        decode_observations(raw) if topic == topics.OBSERVATIONS else decode_exposures(raw)
    )
    return Decoded(list(decoded.items), decoded.malformed, decoded.unknown)


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


def rebuild_idle_partitions() -> None:
    """Cells for every assigned partition once its rows are recovered, traffic or not: a
    partition with no new records would otherwise never republish (after a restart, a
    rebalance, or an upgrade whose old cells readers skip)."""
    if not config.ready.is_set() or app.rebalancing or app.in_recovery:
        return
    recovery = getattr(app.tables, "recovery", None)
    if recovery is None or not recovery.completed.is_set():
        return
    for tp in app.consumer.assignment():
        if tp.topic == topics.OBSERVATIONS and tp.partition not in partition_cells.built:
            rebuilt = partition_cells.rebuild(tp.partition, _states_of(tp.partition), config.plans)
            log.info("partition %d: cells rebuilt from %d entity rows", tp.partition, rebuilt)


async def _known(updates: list[Update], counts: Counter[str]) -> list[Update]:
    """The updates of experiments the configuration knows, catching up once if needed."""
    plans = config.plans
    if any(target(u)[0] not in plans for u in updates):
        await config.follower.catch_up()
        plans = config.plans
    known = [u for u in updates if target(u)[0] in plans]
    counts["unknown_experiment"] += len(updates) - len(known)
    return known


def _encode(topic: str, updates: list[Update]) -> bytes:
    if topic == topics.OBSERVATIONS:
        return encode_observations([u for u in updates if isinstance(u, Observed)])
    return encode_assignments([u.as_assignment() for u in updates if isinstance(u, Exposure)])


class Batch:
    """One take_events batch of the join: its updates by partition, the records it sends."""

    def __init__(self) -> None:
        self.updates: dict[int, list[Update]] = {}
        # (topic, offset) of the record each update came in, beside ``updates``.
        self.sources: dict[int, list[Source]] = {}
        self.misplaced: dict[str, list[Update]] = {topics.OBSERVATIONS: [], topics.ASSIGNMENTS: []}
        self.counts = {topics.OBSERVATIONS: Counter[str](), topics.ASSIGNMENTS: Counter[str]()}
        self.deliveries: list[Awaitable[Any]] = []

    async def send(self, topic: str, key: bytes | None, value: bytes, partition: int) -> None:
        self.deliveries.append(await app.producer.send(topic, key, value, partition, None, None))

    async def add(self, topic: str, partition: int, offset: int, raw: bytes) -> None:
        try:
            decoded = _decode(topic, raw)
        except MalformedRecord as exc:
            self.counts[topic]["malformed"] += 1
            log.warning("skipping a malformed record: %s", exc)
            return
        self.counts[topic]["malformed"] += decoded.malformed
        self.counts[topic]["unknown_version"] += decoded.unknown
        here = self.updates.setdefault(partition, [])
        sources = self.sources.setdefault(partition, [])
        for update in await _known(decoded.items, self.counts[topic]):
            if topics.entity_partition(entity_of(update), P) == partition:
                here.append(update)
                sources.append((topic, offset))
            else:
                # Written to another partition than its entity's (a producer of one's
                # own, or a record from before entity partitions): applying it here
                # would give the entity a second row. It moves to where its row is.
                self.misplaced[topic].append(update)

    async def apply(self) -> None:
        for topic, updates in self.misplaced.items():
            for partition, chunk in topics.by_entity_partition(
                updates, entity_of, P, ITEMS_PER_RECORD
            ):
                for record in encode_within(chunk, functools.partial(_encode, topic)):
                    await self.send(topic, None, record, partition)
            self.counts[topic]["moved"] += len(updates)
        for partition, updates in self.updates.items():
            if partition not in partition_cells.built:
                rebuilt = partition_cells.rebuild(partition, _states_of(partition), config.plans)
                log.info("partition %d: cells rebuilt from %d entity rows", partition, rebuilt)
            await self._join_partition(partition, updates, self.sources[partition])
        # Every record this batch sent is acknowledged before the batch is: faust's
        # flush before a commit waits for sends but does not fail on a lost one.
        await asyncio.gather(*self.deliveries)
        for topic, topic_counts in self.counts.items():
            count_records(topic, topic_counts)

    async def quarantine(
        self, partition: int, key: str, updates: list[Update], reason: str
    ) -> None:
        """Set one entity's updates of this batch aside, as records of their own topics,
        and leave its row as it was; everyone else's updates go on."""
        log.warning("quarantining the updates of %s: %s", key, reason)
        mine = [u for u in updates if entity_key(*target(u)) == key]
        now = time.time()
        for topic, kind in ((topics.OBSERVATIONS, Observed), (topics.ASSIGNMENTS, Exposure)):
            chosen = [u for u in mine if isinstance(u, kind)]
            if not chosen:
                continue
            self.counts[topic]["quarantined"] += len(chosen)
            for payload in encode_within(chosen, functools.partial(_encode, topic)):
                record = QuarantineRecord(topic, reason, "join", now, payload, partition)
                await self.send(topics.QUARANTINE, key.encode(), record.encode(), 0)

    async def _join_partition(
        self, partition: int, updates: list[Update], sources: list[Source]
    ) -> None:
        plans = config.plans

        def rules_of(experiment: str) -> Rules:
            plan = plans.get(experiment)
            return plan.rules if plan is not None else DEFAULT_RULES

        folded = fold(updates, _load, settings.bucket_seconds, sources, rules_of)
        for kind, topic in (
            (Observed, topics.OBSERVATIONS),
            (Exposure, topics.ASSIGNMENTS),
        ):
            self.counts[topic]["applied"] += folded.applied[kind]
            self.counts[topic]["unchanged"] += folded.unchanged[kind]
        for key, reason in folded.failed.items():
            await self.quarantine(partition, key, updates, reason)
        for key, change in folded.changes.items():
            plan = plans.get(change.experiment)
            try:
                row_key, row = encode_entity_row(key, change.after, partition)
                if len(row) > MAX_ROW_BYTES:
                    raise ValueError(f"the entity row would be {len(row)} bytes")
                # None: deleted since the batch was read.
                deltas = (
                    partition_cells.deltas(plan, change.before, change.after)
                    if plan is not None
                    else {}
                )
            except Exception as exc:  # one entity's bug must not stop everyone's batch
                await self.quarantine(partition, key, updates, f"{type(exc).__name__}: {exc}")
                continue
            entities.data[key] = LiveRow(partition, change.after)
            # Straight to the producer: faust's table assignment queues the changelog
            # record in a buffer that its flush-before-commit can miss (a SIGKILL then
            # lost rows whose offsets were committed).
            await self.send(CHANGELOG, row_key, row, partition)
            partition_cells.apply(partition, change.experiment, deltas)
        if log.isEnabledFor(logging.DEBUG):
            for update in updates:
                if isinstance(update, Exposure):
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
    async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN):
        try:
            batch = Batch()
            for event in events:
                message = event.message
                positions[(message.topic, message.partition)] = message.offset + 1
                await batch.add(message.topic, message.partition, message.offset, event.value)
            await batch.apply()
        except BaseException:
            # faust acknowledges a take_events batch however its body ends, and a
            # commit would then cover updates never applied. Ending the process here
            # leaves the offsets where they were: the batch is read again on restart,
            # and the fold makes whatever part of it did land a no-op.
            log.exception("a join batch did not complete; exiting so that it is read again")
            logging.shutdown()
            os._exit(70)


async def on_revoked(sender: Any, revoked: set[Any], **kwargs: Any) -> None:
    partition_cells.revoke({tp.partition for tp in revoked if tp.topic == topics.OBSERVATIONS})
    for tp in revoked:
        positions.pop((tp.topic, tp.partition), None)
        forget_lag(tp.topic, tp.partition)


app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]
