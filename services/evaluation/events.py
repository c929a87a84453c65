"""PutProjectEvents: validate each event, hand the accepted ones to Kafka.

The evaluation operations are served by ``fastpath`` ahead of Starlette.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from services.evaluation.publisher import OutgoingEvent, Publisher
from shared import serialization
from shared.domain.arn import project_name
from shared.domain.projection import ConfigView
from shared.errors import ResourceNotFoundException, ValidationException, VerdictError
from shared.http import json_response
from shared.observability import (
    EVENTS_INGESTED,
    EVENTS_REJECTED,
    request_id_var,
)
from shared.wire import evaluation as we
from shared.wire.common import json_object, parse, validation_error

# Timestamps further ahead than this are a client clock or unit bug (ms for s).
_MAX_FUTURE = timedelta(days=1)


def _check_event(raw: dict[str, object], now: datetime) -> tuple[we.Event, dict[str, Any]]:
    try:
        event = we.Event.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc) from None
    timestamp = event.timestamp if event.timestamp.tzinfo else event.timestamp.replace(tzinfo=UTC)
    if timestamp > now + _MAX_FUTURE:
        raise ValidationException("timestamp is more than a day in the future", field="timestamp")
    data = json_object(event.data, "data")
    return event.model_copy(update={"timestamp": timestamp}), data


async def put_project_events(request: Request) -> Response:
    req = parse(
        we.PutProjectEventsRequest, await request.body(), project=request.path_params["project"]
    )
    project = project_name(req.project)
    view: ConfigView = request.app.state.view
    if view.project(project) is None:
        raise ResourceNotFoundException(f"project {project} does not exist", project, "Project")
    now = datetime.now(UTC)
    rid = request_id_var.get() or str(uuid.uuid4())
    results: list[dict[str, Any]] = []
    outgoing: list[OutgoingEvent] = []
    slots: list[int] = []
    types: list[str] = []
    for raw in req.events:
        event_id = str(uuid.uuid4())
        results.append({"eventId": event_id})
        try:
            if isinstance(raw.get("data"), dict | list):
                raw = {**raw, "data": orjson.dumps(raw["data"]).decode()}
            event, data = _check_event(raw, now)
        except VerdictError as exc:
            results[-1].update(errorCode=exc.code, errorMessage=exc.message[:1024])
            EVENTS_REJECTED.labels(exc.code).inc()
            continue
        entity = data.get("entityId")
        entity_id = entity if isinstance(entity, str) and entity else None
        record = {
            "eventId": event_id,
            "project": project,
            "type": event.type,
            "timestamp": event.timestamp.timestamp(),
            "data": data,
            "entityId": entity_id,
            "requestId": rid,
        }
        key = entity_id or event_id
        # The request id travels as a Kafka header too, so an event can be followed.
        outgoing.append(
            OutgoingEvent(
                key.encode(), serialization.dumps(record), (("request_id", rid.encode()),)
            )
        )
        slots.append(len(results) - 1)
        types.append(event.type)
    publisher: Publisher = request.app.state.publisher
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
    return json_response({"eventResults": results, "failedEventCount": failed})
