"""Agents: route metric events to observations; join observations to assignments.

Both agents are thin: they decode, call the pure fold in
``shared.domain.aggregation``, and assign the table row back.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from services.processor.aggregates import PartitionAggregates
from services.processor.app import app, config, settings
from services.processor.records import (
    AssignmentRecord,
    MalformedRecord,
    ObservationRecord,
    decode_assignment,
    decode_metric_event,
)
from services.processor.tables import entities, entity_key, split_entity_key
from shared import topics
from shared.domain.aggregation import EntityState
from shared.domain.observations import observe
from shared.observability import PROCESSOR_RECORDS

log = logging.getLogger(__name__)

P = settings.topic_partitions
events_topic = app.topic(topics.EVENTS, key_serializer="raw", value_serializer="raw", partitions=P)
observations_topic = app.topic(
    topics.OBSERVATIONS, key_serializer="raw", value_serializer="raw", partitions=P
)
# One agent reads both, so one worker holds partition p of each: an entity's
# observations and assignments meet in the same table partition.
joined_topic = app.topic(
    topics.OBSERVATIONS,
    topics.ASSIGNMENTS,
    key_serializer="raw",
    value_serializer="raw",
    partitions=P,
)

aggregates = PartitionAggregates(settings.bucket_seconds)
# (topic, partition) -> next offset to process: the consumer-lag gauge's reference.
positions: dict[tuple[str, int], int] = {}


@app.agent(events_topic)
async def route_events(stream: Any) -> AsyncIterator[None]:
    await config.ready.wait()
    async for message in stream.events():
        positions[(topics.EVENTS, message.message.partition)] = message.message.offset + 1
        try:
            event = decode_metric_event(message.value)
        except MalformedRecord as exc:
            PROCESSOR_RECORDS.labels(topics.EVENTS, "malformed").inc()
            log.warning("skipping %s", exc)
            continue
        PROCESSOR_RECORDS.labels(topics.EVENTS, "routed").inc()
        for observation in observe(config.specs.get(event.project, ()), event.data):
            record = ObservationRecord(observation, event.timestamp, event.event_id)
            await observations_topic.send(key=observation.entity_id.encode(), value=record.encode())
        yield None


async def write_row(key: str, row: dict[str, Any], partition: int) -> None:
    """Write a table row so that its changelog record is durable before the commit.

    faust's ``table[key] = value`` queues the changelog record in a buffer that
    its flush-before-commit can miss (a record taken off the buffer but not yet
    handed to the Kafka producer); a SIGKILL then lost rows whose source offsets
    were committed. Awaiting the send puts the record into the producer before
    the event is acknowledged, and faust flushes the producer before committing.
    """
    entities.data[key] = row
    await entities.changelog_topic.send(key=key, value=row, partition=partition)


def _rows_of(partition: int) -> list[tuple[str, dict[str, Any]]]:
    rows = []
    for key, row in entities.items():
        if row is not None and row.get("p") == partition:
            rows.append((split_entity_key(key)[0], row))
    return rows


@app.agent(joined_topic)
async def join(stream: Any) -> AsyncIterator[None]:
    await config.ready.wait()
    async for event in stream.events():
        partition = event.message.partition
        positions[(event.message.topic, partition)] = event.message.offset + 1
        if partition not in aggregates.built:
            folded = aggregates.rebuild(partition, _rows_of(partition), config.metrics)
            log.info("partition %d: aggregates rebuilt from %d entity rows", partition, folded)
        try:
            if event.message.topic == topics.OBSERVATIONS:
                observation = ObservationRecord.decode(event.value)
                experiment, entity = (
                    observation.observation.experiment_key,
                    observation.observation.entity_id,
                )
                assignment: AssignmentRecord | None = None
            else:
                assignment = decode_assignment(event.value)
                if assignment is None:
                    continue
                experiment, entity = assignment.experiment_key, assignment.entity_id
        except (MalformedRecord, KeyError, TypeError, ValueError) as exc:
            PROCESSOR_RECORDS.labels(event.message.topic, "malformed").inc()
            log.warning("skipping a malformed record: %s", exc)
            continue
        metrics = await config.metrics_for(experiment)
        if metrics is None:
            PROCESSOR_RECORDS.labels(event.message.topic, "unknown_experiment").inc()
            continue
        key = entity_key(experiment, entity)
        row = entities.get(key)
        before = EntityState.from_json(row) if row is not None else None
        state = before or EntityState()
        if assignment is not None:
            after = state.with_exposure(assignment.treatment, assignment.timestamp)
        else:
            o = observation.observation
            after = state.with_event(
                o.metric, (observation.timestamp, o.value, observation.event_id)
            )
        if after == before:
            PROCESSOR_RECORDS.labels(event.message.topic, "unchanged").inc()
            continue  # a redelivery, or nothing new
        PROCESSOR_RECORDS.labels(event.message.topic, "applied").inc()
        if assignment is not None and log.isEnabledFor(logging.DEBUG):
            headers = dict(event.message.headers or [])
            rid = headers.get("request_id")
            log.debug(
                "exposure applied",
                extra={
                    "requestId": rid.decode() if rid else None,
                    "experiment": experiment,
                    "entityId": entity,
                    "partition": partition,
                },
            )
        await write_row(key, {**after.to_json(), "p": partition}, partition)
        aggregates.contribute(partition, experiment, metrics, before, after)
        yield None


async def on_revoked(sender: Any, revoked: set[Any], **kwargs: Any) -> None:
    aggregates.revoke({tp.partition for tp in revoked if tp.topic == topics.OBSERVATIONS})


app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]
