"""Agents: key, fold, assign back. The fold itself is pure (shared.domain.stats)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from services.processor.app import app, settings
from services.processor.records import decode_metric_event, numeric_fields
from services.processor.tables import moments, moments_key
from shared import topics
from shared.domain.stats.moments import Moments
from shared.errors import ValidationException

log = logging.getLogger(__name__)

events_topic = app.topic(
    topics.EVENTS,
    key_serializer="raw",
    value_serializer="raw",
    partitions=settings.topic_partitions,
)


@app.agent(events_topic)
async def aggregate_events(stream: Any) -> AsyncIterator[None]:
    async for event in stream.events():
        try:
            metric_event = decode_metric_event(event.value)
        except ValidationException as exc:
            log.warning("skipping %s", exc.message)
            continue
        partition, offset = event.message.partition, event.message.offset
        for metric, value in numeric_fields(metric_event.data).items():
            key = moments_key(metric_event.project, metric, partition)
            row = moments.get(key)
            # Redelivery after a crash replays offsets this row already holds.
            if row is not None and offset <= row["offset"]:
                continue
            state = Moments() if row is None else Moments.from_json(row)
            moments[key] = {**state.push(value).to_json(), "offset": offset}
        yield None
