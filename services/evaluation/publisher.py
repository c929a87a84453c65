"""Metric events -> Kafka, acknowledged by the broker before they count, within a bound.

The producer is idempotent with acks=all: an event is reported accepted only
once every in-sync replica has it, and a retry after a lost ack is not stored
twice.

An idempotent producer never gives up on a record it has taken: while the
broker is away it keeps retrying, and a send whose topic metadata is not known
waits for it. So a call waits at most ``timeout`` seconds, and reports what is
not acknowledged by then as failed, for the caller to retry. Such a record may
still reach the broker once it is back; PutProjectEvents derives event ids from
the call's idempotency key, so a retry of the same call carries the same ids
and the processor counts each event once (README, "Ingestion guarantees").
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from functools import partial

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from shared import kafka
from shared.observability import EVENTS_ACKNOWLEDGED_LATE

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OutgoingEvent:
    event_id: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


def create_producer(bootstrap_servers: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        **kafka.security(),
        bootstrap_servers=bootstrap_servers,
        acks="all",
        enable_idempotence=True,
        linger_ms=1,
        # Assignment records carry up to 200 assignments (~50 KB); the 16 KB default
        # would give each its own produce request.
        max_batch_size=512 * 1024,
        # aiokafka has no reconnect backoff of its own: while the broker is away the
        # sender retries a batch, reconnecting, every retry_backoff. 100 ms finds a
        # returning broker within a tenth of a second (measured: the first call after
        # a restarted broker answers metadata is accepted whole).
        retry_backoff_ms=100,
        # How long one request may go unanswered before the connection is given up and
        # the batch retried on a new one. A request lost with a silently dead
        # connection (a paused broker, a dropped network) would otherwise hold its
        # partitions for this long after the broker is back; 4 s keeps that under the
        # 5 s in which ingestion must recover. It is also the broker's acks=all wait.
        request_timeout_ms=4_000,
        # Errors force a metadata refresh anyway; a minute (not five) bounds how
        # long a leader moved without an error to tell us goes unnoticed.
        metadata_max_age_ms=60_000,
    )


class Publisher:
    def __init__(self, producer: AIOKafkaProducer, topic: str, timeout: float) -> None:
        self.topic = topic
        self.producer = producer
        self.timeout = timeout

    async def publish(self, events: list[OutgoingEvent]) -> list[str | None]:
        """Send all, wait for the acks; per event None on success or the error text.

        Returns within ``timeout`` seconds, whatever the broker does."""
        loop = asyncio.get_running_loop()
        started = time.monotonic()
        deadline = loop.time() + self.timeout
        futures: list[asyncio.Future[object]] = []
        try:
            async with asyncio.timeout_at(deadline):
                for event in events:
                    try:
                        futures.append(
                            await self.producer.send(
                                self.topic,
                                event.value,
                                key=event.key,
                                headers=list(event.headers),
                            )
                        )
                    except KafkaError as exc:
                        futures.append(_failed(exc))
        except TimeoutError:
            # A send still waiting for topic metadata or buffer space is cancelled,
            # which aiokafka guarantees leaves nothing queued: those events cannot
            # arrive later. The ones already queued can (see the module's docstring).
            pass
        if futures:
            await asyncio.wait(futures, timeout=max(0.0, deadline - loop.time()))
        unanswered = f"the broker did not acknowledge the event within {self.timeout:g} s"
        outcomes: list[str | None] = []
        late = _Late(started)
        for event, future in zip(events, futures, strict=False):
            if not future.done():
                late.watch(event.event_id, future)
                outcomes.append(unanswered)
            elif (error := future.exception()) is not None:
                outcomes.append(f"{type(error).__name__}: {error}")
            else:
                outcomes.append(None)
        outcomes += [unanswered] * (len(events) - len(futures))
        return outcomes


class _Late:
    """The events of one call still unsettled when it answered. Those the broker takes
    after all are said, in one line once the last settles: never silently counted."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.unsettled = 0
        self.acknowledged: list[str] = []

    def watch(self, event_id: str, future: asyncio.Future[object]) -> None:
        self.unsettled += 1
        future.add_done_callback(partial(self._settled, event_id))

    def _settled(self, event_id: str, future: asyncio.Future[object]) -> None:
        self.unsettled -= 1
        # exception() retrieves the error, so asyncio never logs it as lost.
        if not future.cancelled() and future.exception() is None:
            self.acknowledged.append(event_id)
            EVENTS_ACKNOWLEDGED_LATE.inc()
        if self.unsettled == 0 and self.acknowledged:
            # Counted once if the caller retries the same call (the same event ids),
            # twice if it sends them again in a new call without an idempotency key.
            log.warning(
                "%d events reported failed were acknowledged %.1f s after their call"
                " began (event ids %s)",
                len(self.acknowledged),
                time.monotonic() - self.started,
                ", ".join(self.acknowledged),
            )


def _failed(exc: BaseException) -> asyncio.Future[object]:
    future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    future.set_exception(exc)
    return future
