"""EvaluateFeature and BatchEvaluateFeature: parse, evaluate against the compiled rules, render.

No database round trip happens here: the rules are compiled from the view the
feed keeps current; sticky assignments and assignment events leave through
queues that background tasks drain. The functions take bytes and return the
response document, so the ASGI edge (``fastpath``) stays a thin shell.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from services.evaluation.assignments import Assignment, AssignmentPublisher
from services.evaluation.rules import RulesCache
from services.evaluation.sticky import StickyStore
from shared import serialization
from shared.domain.arn import ArnScheme, project_name
from shared.domain.evaluation import Evaluation, FeatureRules, evaluate
from shared.domain.projection import ConfigView
from shared.errors import ResourceNotFoundException, VerdictError
from shared.observability import EVALUATIONS, EvaluationCounts
from shared.wire import evaluation as we
from shared.wire import render
from shared.wire.common import json_object, parse, validation_error


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
        if self.view.project(project) is None:
            raise ResourceNotFoundException(f"project {project} does not exist", project, "Project")
        raise ResourceNotFoundException(
            f"feature {feature} does not exist in project {project}", feature, "Feature"
        )

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
                    experiment.key if kind == "experiment" and experiment else None,
                )
            )
        return evaluation

    def evaluate_feature(self, project: str, feature: str, body: bytes, rid: str) -> Any:
        project = project_name(project)
        req = parse(we.EvaluateFeatureRequest, body, project=project, feature=feature)
        return render_evaluation(
            self.decide(project, req.feature, req.entityId, req.evaluationContext, rid)
        )

    def batch_evaluate_feature(self, project: str, body: bytes, rid: str) -> Any:
        project = project_name(project)
        req = parse(we.BatchEvaluateFeatureRequest, body, project=project)
        project_arn = self.arns.project(project)
        results = []
        for raw in req.requests:
            # One bad request never fails the others: each is validated on its own.
            result: dict[str, Any] = {
                "project": project_arn,
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
                        self.decide(project, one.feature, one.entityId, one.evaluationContext, rid)
                    )
                )
            except VerdictError as exc:
                result["reason"] = "ERROR"
                result["details"] = serialization.dumps(
                    {"error": {"code": exc.code, "message": exc.message}}
                ).decode()
            results.append(result)
        return {"results": results}
