"""Metric events -> Kafka, acknowledged by the broker before they count.

The producer is idempotent with acks=all: an event is reported accepted only
once every in-sync replica has it, and a retry after a lost ack is not stored
twice.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


def create_producer(bootstrap_servers: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        linger_ms=1,
        # Assignment records carry up to 200 assignments (~50 KB); the 16 KB default
        # would give each its own produce request.
        max_batch_size=512 * 1024,
        request_timeout_ms=10_000,
    )


class Publisher:
    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self.topic = topic
        self.producer = producer

    async def publish(self, events: list[OutgoingEvent]) -> list[str | None]:
        """Send all, wait for every ack; per event None on success or the error text."""
        futures = []
        for event in events:
            try:
                futures.append(
                    await self.producer.send(
                        self.topic, event.value, key=event.key, headers=list(event.headers)
                    )
                )
            except KafkaError as exc:
                futures.append(_failed(exc))
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        return [
            f"{type(o).__name__}: {o}" if isinstance(o, BaseException) else None for o in outcomes
        ]


def _failed(exc: BaseException) -> asyncio.Future[None]:
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    future.set_exception(exc)
    return future
