"""Route metric events to observations: a plain aiokafka consumer inside the processor.

Routing is stateless (no table), so it needs none of faust's table machinery,
and faust's per-record stream machinery cost ~110 µs of CPU a record here: a
faust worker that only counts reads ~9k records/s, against ~250k/s for a raw
aiokafka consumer on the same topic (README, Benchmarks). Routing with
``getmany`` batches instead, the per-record cost is the decode and the match.

At least once: a batch's observations are acknowledged by the broker before the
batch's offsets are committed, so a crash replays a batch and never loses one;
the join drops a replayed event by its id. The consumer group is the
processor's own (``ROUTER_GROUP``), so several processor workers share the
events topic's partitions.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from services.processor.join import entity_of
from shared import kafka, topics
from shared.domain.limits import first_breach
from shared.domain.observations import MetricSpec, observe
from shared.observability import count_records, forget_lag
from shared.streams import (
    ITEMS_PER_RECORD,
    MalformedRecord,
    Observed,
    QuarantineRecord,
    UnknownVersion,
    decode_metric_event,
    encode_observations,
    encode_within,
)

log = logging.getLogger(__name__)

ROUTER_GROUP = f"{topics.PROCESSOR_APP_ID}-router"

SpecsFor = Callable[[str], Sequence[MetricSpec]]


@dataclass
class Routed:
    """One batch of metric events, routed: the records to write, the raw events set aside
    (with the reason) and what was counted."""

    records: list[tuple[int, bytes]] = field(default_factory=list)  # (partition, array)
    quarantined: list[tuple[bytes, str]] = field(default_factory=list)  # (raw event, why)
    counts: Counter[str] = field(default_factory=Counter)

    def set_aside(self, raw: bytes, outcome: str, reason: str) -> None:
        self.counts[outcome] += 1
        self.quarantined.append((raw, reason))
        log.warning("quarantining a metric event (%s): %s", outcome, reason)


def _observations(raw: bytes, specs_for: SpecsFor, out: Routed) -> list[Observed]:
    """The observations one raw event yields; none, and the event set aside, if it cannot
    be read, breaks a limit, or routing it fails."""
    try:
        event = decode_metric_event(raw)
    except MalformedRecord as exc:
        out.set_aside(raw, "malformed", str(exc))
        return []
    except UnknownVersion as exc:
        out.set_aside(raw, "unknown_version", f"a metric event of {exc}")
        return []
    try:
        found = list(observe(specs_for(event.project), event.data))
    except Exception as exc:  # a bug in one event's routing must not stop everyone's
        out.set_aside(raw, "failed", f"routing failed: {exc!r}")
        return []
    # Producers of one's own bypass PutProjectEvents' limits; the same limits hold here.
    problem = first_breach(found)
    if problem is not None:
        out.set_aside(raw, "refused", problem)
        return []
    out.counts["routed"] += 1
    return [Observed(o, event.timestamp, event.event_id) for o in found]


def route(raws: Iterable[bytes], specs_for: SpecsFor, partitions: int) -> Routed:
    """Metric events (raw record values) -> observation arrays by entity partition."""
    out = Routed()
    observations: list[Observed] = []
    for raw in raws:
        observations.extend(_observations(raw, specs_for, out))
    for partition, chunk in topics.by_entity_partition(
        observations, entity_of, partitions, ITEMS_PER_RECORD
    ):
        for record in encode_within(chunk, encode_observations):
            out.records.append((partition, record))
    return out


class EventRouter:
    def __init__(
        self,
        bootstrap_servers: str,
        specs_for: SpecsFor,
        partitions: int,
        session_timeout_ms: int,
        max_records: int = 5000,
        retry_pause: float = 1.0,
    ) -> None:
        self.retry_pause = retry_pause
        self.specs_for = specs_for
        self.partitions = partitions
        self.max_records = max_records
        # (partition of verdict.events) -> next offset to route: the lag gauge's reference.
        self.positions: dict[int, int] = {}
        self.bootstrap_servers = bootstrap_servers
        self.session_timeout_ms = session_timeout_ms
        # Made in ``run``: aiokafka binds its clients to the running loop.
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None

    async def run(self) -> None:
        """Route until cancelled; the consumer and producer are stopped on the way out."""
        consumer = self.consumer = AIOKafkaConsumer(
            **kafka.security(),
            bootstrap_servers=self.bootstrap_servers,
            group_id=ROUTER_GROUP,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self.session_timeout_ms,
            heartbeat_interval_ms=max(300, self.session_timeout_ms // 10),
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        producer = self.producer = AIOKafkaProducer(
            **kafka.security(),
            bootstrap_servers=self.bootstrap_servers,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=256 * 1024,
        )
        consumer.subscribe([topics.EVENTS], listener=_ForgetRevoked(self.positions))
        await producer.start()
        await consumer.start()
        try:
            while True:
                batch = await consumer.getmany(timeout_ms=200, max_records=self.max_records)
                if batch:
                    await self.route_batch(consumer, producer, batch)
        finally:
            await consumer.stop()
            await producer.stop()

    async def route_batch(
        self,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        batch: dict[TopicPartition, list[Any]],
    ) -> bool:
        """Route one batch and commit it; False if it will be read again instead.

        A failure never stops the router and never skips a batch: a batch whose
        partitions moved to another worker mid-way is replayed by that worker
        (the commit fails), and one whose observations the broker did not take
        is read again from its first offset after a pause.
        """
        try:
            await self._route(consumer, producer, batch)
            return True
        except CommitFailedError as exc:
            log.warning("a rebalance took this batch's partitions; their owner replays it: %s", exc)
        except KafkaError as exc:
            log.warning("routing a batch failed; reading it again: %s", exc)
            assigned = consumer.assignment()
            for tp, messages in batch.items():
                if tp in assigned:
                    consumer.seek(tp, messages[0].offset)
            await asyncio.sleep(self.retry_pause)
        return False

    async def _route(
        self,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        batch: dict[TopicPartition, list[Any]],
    ) -> None:
        raws = (m.value for messages in batch.values() for m in messages)
        routed = route(raws, self.specs_for, self.partitions)
        deliveries = [
            await producer.send(topics.OBSERVATIONS, value, partition=partition)
            for partition, value in routed.records
        ]
        now = time.time()
        for raw, reason in routed.quarantined:
            record = QuarantineRecord(topics.EVENTS, reason, "router", now, raw)
            deliveries.append(await producer.send(topics.QUARANTINE, record.encode()))
        # Acknowledged by the broker before the offsets that produced them are committed.
        await asyncio.gather(*deliveries)
        offsets = {tp: messages[-1].offset + 1 for tp, messages in batch.items()}
        await consumer.commit(offsets)
        for tp, offset in offsets.items():
            self.positions[tp.partition] = offset
        count_records(topics.EVENTS, routed.counts)

    async def lag(self) -> dict[int, int]:
        """Records between what was routed and each assigned partition's end."""
        lags: dict[int, int] = {}
        consumer = self.consumer
        if consumer is None:
            return lags
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            position = self.positions.get(tp.partition)
            if position is None:
                position = await consumer.position(tp)
            lags[tp.partition] = max(0, highwater - position)
        return lags


class _ForgetRevoked(ConsumerRebalanceListener):  # type: ignore[misc]
    """A partition routed elsewhere now has no position or lag of this worker's."""

    def __init__(self, positions: dict[int, int]) -> None:
        self.positions = positions

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        for tp in revoked:
            self.positions.pop(tp.partition, None)
            forget_lag(tp.topic, tp.partition)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        return None
