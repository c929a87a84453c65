"""Assignment events -> Kafka: batched, and never blocking a response.

Every evaluation decided by a running launch or experiment is queued here;
a background task sends the queue with the idempotent producer. The processor
joins metric events to these (see README, "Topics").

One Kafka record carries many assignments: a JSON array of those whose entity
ids share an entity partition (``topics.entity_partition``), where each meets
its entity's observations. One record per assignment cost ~15 µs of producer
work each, and at full evaluation load the sender fell behind and shed 72% of
them (measured with wrk when batching came in); the processor pays per record too. The
queue is sent in slices so that a long backlog never holds the event loop.

A stop (SIGTERM) sends everything queued and waits for the broker's acks; only
a kill loses assignments, at most those of the last ``linger`` (200 ms) plus what
the producer had not yet had acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from shared.observability import ASSIGNMENT_EVENTS
from shared.streams import Assignment, encode_assignments
from shared.topics import by_entity_partition

log = logging.getLogger(__name__)


def _entity_of(assignment: Assignment) -> str:
    return assignment.entity_id


class AssignmentPublisher:
    """A plain list and an Event rather than an asyncio.Queue: ``emit`` runs once per
    evaluation, and appending to a list is several times cheaper than put_nowait."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        topic: str,
        max_queue: int = 100_000,
        per_record: int = 200,
        slice_size: int = 4000,
        linger: float = 0.2,
    ) -> None:
        self.producer = producer
        self.linger = linger
        self.per_record = per_record
        self.slice = slice_size
        self.topic = topic
        self.max_queue = max_queue
        self.pending: list[Assignment] = []
        self.ready = asyncio.Event()
        self.dropped = 0
        self.sent = 0
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def emit(self, assignment: Assignment) -> None:
        pending = self.pending
        if len(pending) >= self.max_queue:
            # Shedding under overload beats slowing every evaluation down; counted.
            self.dropped += 1
            ASSIGNMENT_EVENTS.labels("dropped").inc()
            return
        pending.append(assignment)
        if len(pending) == 1:
            self.ready.set()

    async def start(self) -> None:
        self._stopping.clear()
        self._task = asyncio.create_task(self._run(), name="assignment-publisher")

    async def stop(self) -> None:
        """Send all that is queued and wait for the broker to acknowledge it."""
        # No cancellation: one arriving mid-send would lose the slice in hand.
        self._stopping.set()
        self.ready.set()
        if self._task is not None:
            await self._task
            self._task = None
        while self.pending:
            await self._send(self._take_slice())
        await self.producer.flush()

    def _take_all(self) -> list[Assignment]:
        batch, self.pending = self.pending, []
        self.ready.clear()
        return batch

    def _take_slice(self) -> list[Assignment]:
        if len(self.pending) <= self.slice:
            return self._take_all()
        batch, self.pending = self.pending[: self.slice], self.pending[self.slice :]
        return batch

    async def _send(self, batch: list[Assignment]) -> None:
        if not batch:
            return
        try:
            count = len(await self.producer.partitions_for(self.topic))
        except KafkaError as exc:
            self._failed(len(batch), exc)
            return
        for partition, chunk in by_entity_partition(batch, _entity_of, count, self.per_record):
            try:
                await self.producer.send(
                    self.topic,
                    encode_assignments(chunk),
                    partition=partition,
                )
            except KafkaError as exc:
                self._failed(len(chunk), exc)
                continue
            self.sent += len(chunk)
            ASSIGNMENT_EVENTS.labels("sent").inc(len(chunk))

    def _failed(self, count: int, exc: BaseException) -> None:
        ASSIGNMENT_EVENTS.labels("failed").inc(count)
        log.warning("%d assignment events not sent: %s", count, exc)

    async def _run(self) -> None:
        while not self._stopping.is_set():
            await self.ready.wait()
            if len(self.pending) < self.slice:
                # Waiting lets a record carry many assignments. Sent as they came, at
                # 2000 evaluations/s most records held one, and the processor's
                # per-record cost took the CPU the evaluation path's tail needed
                # (README, Benchmarks). Assignment events are not awaited by anyone.
                # A stop cuts the wait short.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self.linger)
            await self._send(self._take_slice())
            await asyncio.sleep(0)  # let requests in between slices
