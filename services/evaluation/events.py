"""PutProjectEvents: check what only the server can, hand the accepted events to Kafka.

The edge has validated the request against the model (each event's type, timestamp
and data string); what fails here fails only its own event, in ``eventResults``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from services.evaluation.publisher import OutgoingEvent, Publisher
from shared.domain import queries
from shared.domain.errors import DomainError
from shared.domain.projection import ConfigView
from shared.edge.app import Call
from shared.edge.errors import wire_error
from shared.errors import ValidationException, VerdictError
from shared.observability import EVENTS_INGESTED, EVENTS_REJECTED
from shared.streams import encode_metric_event
from shared.wire.common import json_object

# Timestamps further ahead than this are a client clock or unit bug (ms for s).
_MAX_FUTURE_SECONDS = 86_400.0


def _check_event(event: dict[str, Any], now: float) -> dict[str, Any]:
    if event["timestamp"] > now + _MAX_FUTURE_SECONDS:
        raise ValidationException("timestamp is more than a day in the future", field="timestamp")
    return json_object(event["data"], "data")


async def put_project_events(call: Call) -> Any:
    project = call.input["project"]
    view: ConfigView = call.state.view
    queries.project(view, project)
    now = time.time()
    rid = call.request_id
    results: list[dict[str, Any]] = []
    outgoing: list[OutgoingEvent] = []
    slots: list[int] = []
    types: list[str] = []
    for event in call.input["events"]:
        event_id = str(uuid.uuid4())
        results.append({"eventId": event_id})
        try:
            data = _check_event(event, now)
        except (VerdictError, DomainError) as refused:
            exc = wire_error(refused)
            results[-1].update(errorCode=exc.code, errorMessage=exc.message[:1024])
            EVENTS_REJECTED.labels(exc.code).inc()
            continue
        entity = data.get("entityId")
        entity_id = entity if isinstance(entity, str) and entity else None
        record = encode_metric_event(
            event_id=event_id,
            project=project,
            event_type=event["type"],
            timestamp=float(event["timestamp"]),
            data=data,
            entity_id=entity_id,
            request_id=rid,
        )
        key = entity_id or event_id
        # The request id travels as a Kafka header too, so an event can be followed.
        outgoing.append(OutgoingEvent(key.encode(), record, (("request_id", rid.encode()),)))
        slots.append(len(results) - 1)
        types.append(event["type"])
    publisher: Publisher = call.state.publisher
    if outgoing:
        outcomes = await publisher.publish(outgoing)
        for slot, event_type, error in zip(slots, types, outcomes, strict=True):
            if error is not None:
                results[slot].update(
                    errorCode="ServiceUnavailableException", errorMessage=error[:1024]
                )
                EVENTS_REJECTED.labels("ServiceUnavailableException").inc()
            else:
                EVENTS_INGESTED.labels(project, event_type).inc()
    failed = sum(1 for r in results if "errorCode" in r)
    return {"eventResults": results, "failedEventCount": failed}
