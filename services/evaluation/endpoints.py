"""Data-plane endpoints: parse, evaluate against the compiled rules, render.

No database round trip happens here: the rules are compiled from the view the
feed keeps current; sticky assignments and assignment events leave through
queues that background tasks drain.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response

from services.evaluation.assignments import Assignment, AssignmentPublisher
from services.evaluation.publisher import OutgoingEvent, Publisher
from services.evaluation.rules import RulesCache
from services.evaluation.sticky import StickyStore
from shared import serialization
from shared.domain.arn import ArnScheme, project_name
from shared.domain.evaluation import Evaluation, FeatureRules, evaluate
from shared.domain.projection import ConfigView
from shared.errors import ResourceNotFoundException, ValidationException, VerdictError
from shared.http import json_response
from shared.observability import (
    EVALUATIONS,
    EVENTS_INGESTED,
    EVENTS_REJECTED,
    request_id_var,
)
from shared.wire import evaluation as we
from shared.wire import render
from shared.wire.common import parse, validation_error

# Timestamps further ahead than this are a client clock or unit bug (ms for s).
_MAX_FUTURE = timedelta(days=1)


def request_id(request: Request) -> str:
    return request_id_var.get() or str(uuid.uuid4())


def parse_context(raw: str | None) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    try:
        context = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValidationException(
            f"evaluationContext is not valid JSON: {exc}", field="evaluationContext"
        ) from None
    if not isinstance(context, dict):
        # EvaluateFeature: "the value must be a JSON object. A JSON array is not supported."
        raise ValidationException(
            "evaluationContext must be a JSON object", field="evaluationContext"
        )
    return context


def find_rules(request: Request, project: str, feature: str) -> FeatureRules:
    rules: RulesCache = request.app.state.rules
    found = rules.get(project, feature)
    if found is not None:
        return found
    view: ConfigView = request.app.state.view
    if view.project(project) is None:
        raise ResourceNotFoundException(f"project {project} does not exist", project, "Project")
    raise ResourceNotFoundException(
        f"feature {feature} does not exist in project {project}", feature, "Feature"
    )


def decide(
    request: Request, project: str, feature: str, entity_id: str, raw_context: str | None, rid: str
) -> Evaluation:
    context = parse_context(raw_context)
    rules = find_rules(request, project, feature)
    sticky: StickyStore = request.app.state.sticky
    now = time.time()
    evaluation = evaluate(rules, entity_id, context, now, sticky)
    EVALUATIONS.labels(project, feature, evaluation.reason.value).inc()
    if evaluation.rule_kind is not None:
        if evaluation.newly_assigned and rules.experiment is not None:
            sticky.put(rules.experiment.key, entity_id, evaluation.arm or "")
        publisher: AssignmentPublisher = request.app.state.assignments
        publisher.emit(
            Assignment(
                entity_id,
                project,
                feature,
                evaluation.rule_kind,
                evaluation.rule_name or "",
                evaluation.arm or "",
                evaluation.variation,
                now,
                rid,
                rules.experiment.key
                if evaluation.rule_kind == "experiment" and rules.experiment
                else None,
            )
        )
    return evaluation


def render_evaluation(evaluation: Evaluation) -> dict[str, Any]:
    body: dict[str, Any] = {
        "variation": evaluation.variation,
        "value": render.variable_value(evaluation.value),
        "reason": evaluation.reason.value,
    }
    if evaluation.details:
        body["details"] = serialization.dumps(evaluation.details).decode()
    return body


async def evaluate_feature(request: Request) -> Response:
    req = parse(
        we.EvaluateFeatureRequest,
        await request.body(),
        project=request.path_params["project"],
        feature=request.path_params["feature"],
    )
    evaluation = decide(
        request,
        project_name(req.project),
        req.feature,
        req.entityId,
        req.evaluationContext,
        request_id(request),
    )
    return json_response(render_evaluation(evaluation))


async def batch_evaluate_feature(request: Request) -> Response:
    req = parse(
        we.BatchEvaluateFeatureRequest, await request.body(), project=request.path_params["project"]
    )
    arns: ArnScheme = request.app.state.arns
    project = project_name(req.project)
    rid = request_id(request)
    results = []
    for raw in req.requests:
        # One bad request never fails the others: each is validated on its own.
        result: dict[str, Any] = {
            "project": arns.project(project),
            "feature": str(raw.get("feature", "")),
            "entityId": str(raw.get("entityId", "")),
        }
        try:
            try:
                one = we.EvaluationRequest.model_validate(raw)
            except ValidationError as exc:
                raise validation_error(exc) from None
            result.update(
                render_evaluation(
                    decide(request, project, one.feature, one.entityId, one.evaluationContext, rid)
                )
            )
        except VerdictError as exc:
            result["reason"] = "ERROR"
            result["details"] = serialization.dumps(
                {"error": {"code": exc.code, "message": exc.message}}
            ).decode()
        results.append(result)
    return json_response({"results": results})


def _check_event(raw: dict[str, object], now: datetime) -> tuple[we.Event, dict[str, Any]]:
    try:
        event = we.Event.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc) from None
    timestamp = event.timestamp if event.timestamp.tzinfo else event.timestamp.replace(tzinfo=UTC)
    if timestamp > now + _MAX_FUTURE:
        raise ValidationException("timestamp is more than a day in the future", field="timestamp")
    try:
        data = orjson.loads(event.data)
    except orjson.JSONDecodeError as exc:
        raise ValidationException(f"data is not a JSON document: {exc}", field="data") from None
    if not isinstance(data, dict):
        raise ValidationException("data must be a JSON object", field="data")
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
    rid = request_id(request)
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
