"""EvaluateFeature and BatchEvaluateFeature: parse, evaluate against the compiled rules, render.

No database round trip happens here: the rules are compiled from the view the
feed keeps current; sticky assignments and assignment events leave through
queues that background tasks drain. The functions take bytes and return the
response document; the edge (``shared/edge``) did the HTTP.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from services.evaluation.assignments import AssignmentPublisher
from services.evaluation.rules import RulesCache
from services.evaluation.sticky import StickyStore
from shared import serialization
from shared.domain import queries
from shared.domain.arn import ArnScheme
from shared.domain.errors import DomainError, NotFound
from shared.domain.evaluation import Evaluation, FeatureRules, evaluate
from shared.domain.projection import ConfigView
from shared.domain.resources import ResourceKind
from shared.edge.app import Call
from shared.edge.errors import wire_error
from shared.errors import VerdictError
from shared.observability import EVALUATIONS, EvaluationCounts
from shared.streams import Assignment
from shared.wire import render
from shared.wire.common import json_object


def parse_context(raw: str | None) -> dict[str, Any]:
    if raw is None or raw == "":
        return {}
    # EvaluateFeature: "the value must be a JSON object. A JSON array is not supported."
    return json_object(raw, "evaluationContext")


def render_evaluation(evaluation: Evaluation) -> dict[str, Any]:
    body: dict[str, Any] = {
        "variation": evaluation.variation,
        "value": render.variable_value(evaluation.value),
        "reason": evaluation.reason.value,
    }
    if evaluation.details:
        body["details"] = serialization.dumps(evaluation.details).decode()
    return body


@dataclass(slots=True)
class DataPlane:
    view: ConfigView
    rules: RulesCache
    sticky: StickyStore
    assignments: AssignmentPublisher
    arns: ArnScheme
    counts: EvaluationCounts = EVALUATIONS

    def find_rules(self, project: str, feature: str) -> FeatureRules:
        found = self.rules.get(project, feature)
        if found is not None:
            return found
        queries.feature(self.view, project, feature)  # says which of the two is missing
        raise NotFound(f"feature {feature} has no rules yet", feature, "Feature")

    def decide(
        self, project: str, feature: str, entity_id: str, raw_context: str | None, rid: str
    ) -> Evaluation:
        context = parse_context(raw_context)
        rules = self.find_rules(project, feature)
        now = time.time()
        evaluation = evaluate(rules, entity_id, context, now, self.sticky)
        self.counts.add(project, feature, evaluation.reason.value)
        kind = evaluation.rule_kind
        if kind is not None:
            experiment = rules.experiment
            if evaluation.newly_assigned and experiment is not None:
                self.sticky.put(experiment.key, entity_id, evaluation.arm or "")
            self.assignments.emit(
                Assignment(
                    entity_id,
                    project,
                    feature,
                    kind,
                    evaluation.rule_name or "",
                    evaluation.arm or "",
                    evaluation.variation,
                    now,
                    rid,
                    experiment.key if kind is ResourceKind.EXPERIMENT and experiment else None,
                )
            )
        return evaluation


# The handlers: the edge has validated the input against the model already.


def evaluate_feature(call: Call) -> Any:
    plane: DataPlane = call.state.plane
    given = call.input
    return render_evaluation(
        plane.decide(
            given["project"],
            given["feature"],
            given["entityId"],
            given.get("evaluationContext"),
            call.request_id,
        )
    )


def batch_evaluate_feature(call: Call) -> Any:
    plane: DataPlane = call.state.plane
    project = call.input["project"]
    queries.project(plane.view, project)
    project_arn = plane.arns.project(project)
    results = []
    for one in call.input["requests"]:
        feature, entity_id = one["feature"], one["entityId"]
        result: dict[str, Any] = {"project": project_arn, "feature": feature, "entityId": entity_id}
        try:
            evaluation = plane.decide(
                project, feature, entity_id, one.get("evaluationContext"), call.request_id
            )
            result.update(render_evaluation(evaluation))
        except (VerdictError, DomainError) as refused:
            exc = wire_error(refused)
            # What only the server knows (an unknown feature, a context that is not a
            # JSON object) fails its own item; the model's checks failed the request.
            result["reason"] = "ERROR"
            result["details"] = serialization.dumps(
                {"error": {"code": exc.code, "message": exc.message}}
            ).decode()
        results.append(result)
    return {"results": results}
