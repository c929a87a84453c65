"""PutProjectEvents: check what only the server can, hand the accepted events to Kafka.

The edge has validated the request against the model (each event's type, timestamp
and data string); what fails here fails only its own event, in ``eventResults``:
data that is not a JSON object or breaks a limit of ``shared/domain/limits.py``, a
value or entity id an experiment would take from it that breaks one, a timestamp
more than a day ahead, and an event the broker did not acknowledge in time.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from services.evaluation.publisher import OutgoingEvent, Publisher
from services.evaluation.specs import MetricSpecs
from shared.domain import queries
from shared.domain.errors import DomainError
from shared.domain.limits import (
    MAX_DATA_BYTES,
    MAX_DATA_DEPTH,
    entity_id_breach,
    first_breach,
)
from shared.domain.observations import MetricSpec, observe
from shared.domain.projection import ConfigView
from shared.edge.app import Call
from shared.edge.errors import wire_error
from shared.errors import ServiceUnavailableException, ValidationException, VerdictError
from shared.observability import EVENTS_INGESTED, EVENTS_REJECTED
from shared.streams import encode_metric_event
from shared.wire.common import json_object

# Timestamps further ahead than this are a client clock or unit bug (ms for s).
_MAX_FUTURE_SECONDS = 86_400.0

# Names the ids derived from an idempotency key (UUIDv5). Fixed forever: every
# replica and every release must derive the same id from the same call.
_EVENT_ID_NAMESPACE = uuid.UUID("5d0a6d0e-58c1-4d8a-9d3c-7c1f3f6b2a41")
# Sent by clients that choose their own key; botocore sends the other on every
# attempt of one call, the same on each retry.
IDEMPOTENCY_KEY = "idempotency-key"
INVOCATION_ID = "amz-sdk-invocation-id"


def idempotency_key(call: Call) -> str | None:
    """The key naming this call across its retries: one the client chose, else botocore's."""
    return call.header(IDEMPOTENCY_KEY) or call.header(INVOCATION_ID) or None


def event_id(project: str, key: str | None, position: int) -> str:
    """The id of the event at ``position`` of a call: the same on every retry of a call
    with an idempotency key, so the processor counts it once; random without one.

    The project is part of it because a key is only the client's, and the separator
    cannot occur in a project name, so no two (project, key, position) share a name.
    """
    if key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(_EVENT_ID_NAMESPACE, f"{project}\n{key}\n{position}"))


def _check_event(
    event: dict[str, Any], now: float, specs: tuple[MetricSpec, ...]
) -> dict[str, Any]:
    text: str = event["data"]
    # A character is 1 to 4 bytes of UTF-8: most events are never encoded just to be
    # measured. (The edge's JSON parser refuses lone surrogates, so encode cannot fail.)
    if 4 * len(text) > MAX_DATA_BYTES and len(text.encode()) > MAX_DATA_BYTES:
        raise ValidationException(
            f"data is larger than {MAX_DATA_BYTES} bytes, the limit of one event", field="data"
        )
    if event["timestamp"] > now + _MAX_FUTURE_SECONDS:
        raise ValidationException("timestamp is more than a day in the future", field="timestamp")
    data = json_object(text, "data", max_depth=MAX_DATA_DEPTH)
    entity = data.get("entityId")
    problem = (entity_id_breach(entity) if isinstance(entity, str) else None) or first_breach(
        observe(specs, data)
    )
    if problem is not None:
        raise ValidationException(problem, field="data")
    return data


async def put_project_events(call: Call) -> Any:
    project = call.input["project"]
    view: ConfigView = call.state.view
    queries.project(view, project)
    specs: MetricSpecs = call.state.specs
    project_specs = specs.of(project)
    key = idempotency_key(call)
    now = time.time()
    rid = call.request_id
    results: list[dict[str, Any]] = []
    outgoing: list[OutgoingEvent] = []
    slots: list[int] = []
    types: list[str] = []
    for position, event in enumerate(call.input["events"]):
        eid = event_id(project, key, position)
        results.append({"eventId": eid})
        try:
            data = _check_event(event, now, project_specs)
        except (VerdictError, DomainError) as refused:
            exc = wire_error(refused)
            results[-1].update(errorCode=exc.code, errorMessage=exc.message[:1024])
            EVENTS_REJECTED.labels(exc.code).inc()
            continue
        entity = data.get("entityId")
        entity_id = entity if isinstance(entity, str) and entity else None
        record = encode_metric_event(
            event_id=eid,
            project=project,
            event_type=event["type"],
            timestamp=float(event["timestamp"]),
            data=data,
            entity_id=entity_id,
            request_id=rid,
        )
        partition_key = entity_id or eid
        # The request id travels as a Kafka header too, so an event can be followed.
        outgoing.append(
            OutgoingEvent(eid, partition_key.encode(), record, (("request_id", rid.encode()),))
        )
        slots.append(len(results) - 1)
        types.append(event["type"])
    publisher: Publisher = call.state.publisher
    if outgoing:
        outcomes = await publisher.publish(outgoing)
        for slot, event_type, error in zip(slots, types, outcomes, strict=True):
            if error is not None:
                results[slot].update(
                    errorCode=ServiceUnavailableException.code, errorMessage=error[:1024]
                )
                EVENTS_REJECTED.labels(ServiceUnavailableException.code).inc()
            else:
                EVENTS_INGESTED.labels(project, event_type).inc()
    failed = sum(1 for r in results if "errorCode" in r)
    return {"eventResults": results, "failedEventCount": failed}
