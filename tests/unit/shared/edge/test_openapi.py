"""The OpenAPI document covers every operation and every reference resolves."""

from __future__ import annotations

from typing import Any

from shared.edge.model import load
from shared.edge.openapi import openapi_document


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if "$ref" in node else []
        return found + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def test_every_operation_once_and_every_ref_resolves() -> None:
    document = openapi_document()
    assert document["openapi"].startswith("3.")
    operations = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert sorted(operations) == sorted(load().operations)
    schemas = document["components"]["schemas"]
    for ref in _refs(document):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas


def test_labels_are_path_parameters_and_bodies_exclude_them() -> None:
    document = openapi_document()
    evaluate = document["paths"]["/projects/{project}/evaluations/{feature}"]["post"]
    assert {p["name"]: p["in"] for p in evaluate["parameters"]} == {
        "project": "path",
        "feature": "path",
    }
    body = document["components"]["schemas"]["EvaluateFeatureRequestBody"]
    assert set(body["properties"]) == {"entityId", "evaluationContext"}
    assert body["required"] == ["entityId"]
    untag = document["paths"]["/tags/{resourceArn}"]["delete"]
    assert {"name": "tagKeys", "in": "query"}.items() <= untag["parameters"][1].items()


def test_extensions_are_marked() -> None:
    document = openapi_document()
    winner = document["paths"]["/projects/{project}/experiments/{experiment}/winner"]["post"]
    assert winner["x-verdict-extension"] is True
    feature = document["components"]["schemas"]["Feature"]["properties"]
    assert feature["resourceVersion"]["x-verdict-extension"] is True


def test_issue_18s_members_and_the_lab_listing_are_in_the_document() -> None:
    document = openapi_document()
    schemas = document["components"]["schemas"]
    labs = document["paths"]["/labs/{id}/experiments"]["get"]
    assert labs["operationId"] == "ListLabExperiments" and labs["x-verdict-extension"] is True
    assert {p["name"]: p["in"] for p in labs["parameters"]} == {
        "id": "path",
        "maxResults": "query",
        "nextToken": "query",
        "includeArchived": "query",
    }
    assert labs["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ListExperimentsResponse"
    }
    goal_members = {
        "metricType",
        "role",
        "goal",
        "conversionWindowSeconds",
        "cap",
        "funnelSteps",
        "formula",
        "retentionDay",
    }
    for shape in ("MetricGoalConfig", "MetricGoal"):
        properties = schemas[shape]["properties"]
        assert goal_members <= set(properties)
        assert all(properties[m]["x-verdict-extension"] for m in goal_members)
    seed = {"exposureEvent", "hypothesis", "links", "subjectType", "parentId"}
    for shape in ("Experiment", "CreateExperimentRequestBody", "UpdateExperimentRequestBody"):
        assert seed <= set(schemas[shape]["properties"])
    assert "removeExposureEvent" in schemas["UpdateExperimentRequestBody"]["properties"]
    retention = schemas["RetentionDay"]
    assert (retention["type"], retention["minimum"], retention["maximum"]) == ("integer", 0, 90)
