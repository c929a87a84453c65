"""Assignment events -> Kafka: batched, and never blocking a response.

Every evaluation decided by a running launch or experiment is queued here;
a background task sends the queue with the idempotent producer. The processor
joins metric events to these (see README, "Topics").
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from shared import serialization
from shared.observability import ASSIGNMENT_EVENTS

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Assignment:
    entity_id: str
    project: str
    feature: str
    kind: str  # "experiment" | "launch"
    name: str
    arm: str  # treatment or group
    variation: str
    timestamp: float
    request_id: str | None
    experiment_key: str | None = None  # one incarnation of the experiment; None for launches

    def encode(self) -> bytes:
        return serialization.dumps(
            {
                "entityId": self.entity_id,
                "project": self.project,
                "feature": self.feature,
                "kind": self.kind,
                "name": self.name,
                "treatment": self.arm,
                "variation": self.variation,
                "timestamp": self.timestamp,
                "requestId": self.request_id,
                "experimentKey": self.experiment_key,
            }
        )


class AssignmentPublisher:
    def __init__(self, producer: AIOKafkaProducer, topic: str, max_queue: int = 100_000) -> None:
        self.producer = producer
        self.topic = topic
        self.queue: asyncio.Queue[Assignment] = asyncio.Queue(max_queue)
        self.dropped = 0
        self.sent = 0
        self._task: asyncio.Task[None] | None = None

    def emit(self, assignment: Assignment) -> None:
        try:
            self.queue.put_nowait(assignment)
        except asyncio.QueueFull:
            # Shedding under overload beats slowing every evaluation down; counted.
            self.dropped += 1
            ASSIGNMENT_EVENTS.labels("dropped").inc()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="assignment-publisher")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._send(self._take_all())
        await self.producer.flush()

    def _take_all(self) -> list[Assignment]:
        batch = []
        while not self.queue.empty():
            batch.append(self.queue.get_nowait())
        return batch

    async def _send(self, batch: list[Assignment]) -> None:
        for a in batch:
            try:
                headers = [("request_id", a.request_id.encode())] if a.request_id else []
                await self.producer.send(
                    self.topic, a.encode(), key=a.entity_id.encode(), headers=headers
                )
                self.sent += 1
                ASSIGNMENT_EVENTS.labels("sent").inc()
            except KafkaError as exc:
                ASSIGNMENT_EVENTS.labels("failed").inc()
                log.warning("assignment event not sent: %s", exc)

    async def _run(self) -> None:
        while True:
            first = await self.queue.get()
            await self._send([first, *self._take_all()])
