"""Issue 18's configuration surface through the real stack: Verdict's metric-goal members,
the exposure event and seed 004's fields go in on CreateExperiment and UpdateExperiment
(raw HTTP: boto3 never sends them) and come back on GetExperiment and ListExperiments; a
running experiment keeps what it measures; GET /labs/{id}/experiments lists a lab across
projects; and a stock boto3 client still works on such an experiment, ignoring them."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import httpx
import pytest

from infra.launch.stack import Stack
from tests.e2e.helpers import make_feature, now

pytestmark = pytest.mark.e2e


def pattern(key: str) -> str:
    return json.dumps({"details": {key: [{"exists": True}]}})


def definition(name: str, **members: Any) -> dict[str, Any]:
    return {
        "name": name,
        "entityIdKey": "userDetails.userId",
        "valueKey": f"details.{name}",
        "eventPattern": pattern(name),
        **members,
    }


def goal(name: str, **members: Any) -> dict[str, Any]:
    return {"metricDefinition": definition(name), "desiredChange": "INCREASE", **members}


GOALS = [
    goal(
        "revenue",
        metricType="SUM",
        role="PRIMARY",
        goal=12.5,
        conversionWindowSeconds=7 * 86_400,
        cap={"kind": "PERCENTILE", "value": 99.0},
    ),
    goal("checkout", metricType="FUNNEL", role="SECONDARY", funnelSteps=[pattern("paid")]),
    goal(
        "revenue_per_checkout",
        metricType="FORMULA",
        role="GUARDRAIL",
        formula={"operator": "RATIO", "numerator": "revenue", "denominator": "checkout"},
    ),
]
SEED_004 = {
    "exposureEvent": {"eventPattern": pattern("viewed"), "entityIdKey": "userDetails.userId"},
    "hypothesis": "Free shipping lifts revenue per checkout",
    "links": {"prd": "https://example.com/prd", "analysis": "https://example.com/a"},
    "subjectType": "customer_id",
    "parentId": "home-page-lab",
}


@pytest.fixture
def project(evidently: Any, unique: str) -> str:
    name = f"cfg-{unique}"
    evidently.create_project(name=name)
    make_feature(evidently, name)
    return name


def create(
    stack: Stack, project: str, name: str, goals: list[dict[str, Any]], **members: Any
) -> httpx.Response:
    body = {
        "name": name,
        "treatments": [
            {"name": "control", "feature": "f", "variation": "control"},
            {"name": "treatment", "feature": "f", "variation": "treatment"},
        ],
        "metricGoals": goals,
        **members,
    }
    return httpx.post(f"{stack.url('frontdoor')}/projects/{project}/experiments", json=body)


def created(
    stack: Stack, project: str, name: str, goals: list[dict[str, Any]], **members: Any
) -> dict[str, Any]:
    response = create(stack, project, name, goals, **members)
    assert response.status_code == 200, response.text
    experiment: dict[str, Any] = response.json()["experiment"]
    return experiment


def test_every_member_round_trips_through_get_and_list(
    stack: Stack, evidently: Any, project: str
) -> None:
    shown = created(stack, project, "e", GOALS, **SEED_004)
    base = f"{stack.url('frontdoor')}/projects/{project}/experiments"
    got = httpx.get(f"{base}/e").json()["experiment"]
    (listed,) = httpx.get(base).json()["experiments"]
    for experiment in (shown, got, listed):
        assert experiment["metricGoals"] == GOALS
        assert experiment["exposureEvent"] == SEED_004["exposureEvent"]
        assert experiment["hypothesis"] == SEED_004["hypothesis"]
        assert experiment["links"] == SEED_004["links"]
        # Seed 004: ids are case-insensitive, stored and displayed in uppercase.
        assert (experiment["subjectType"], experiment["parentId"]) == (
            "CUSTOMER_ID",
            "HOME-PAGE-LAB",
        )
    # The other types and their members, and the defaults of a goal that sets none.
    others = [
        goal("visits", metricType="RETENTION", retentionDay=7),
        goal("orders", metricType="COUNT", cap={"kind": "ABSOLUTE", "value": 20.0}),
        {"metricDefinition": definition("basket")},
    ]
    second = created(stack, project, "e2", others)
    assert [g.get("metricType") for g in second["metricGoals"]] == ["RETENTION", "COUNT", "SUM"]
    assert [g["role"] for g in second["metricGoals"]] == ["PRIMARY", "SECONDARY", "SECONDARY"]
    assert second["metricGoals"][0]["retentionDay"] == 7
    assert (second["subjectType"], second["parentId"]) == ("ANY", "DEFAULT")
    assert "exposureEvent" not in second and "hypothesis" not in second
    averaged = [
        goal("basket", metricType="AVERAGE"),
        goal("bought", metricType="UNIQUE_CONVERSIONS"),
    ]
    third = created(stack, project, "e3", averaged)
    assert [g["metricType"] for g in third["metricGoals"]] == ["AVERAGE", "UNIQUE_CONVERSIONS"]


def test_bad_members_are_validation_errors_naming_the_field_and_store_nothing(
    stack: Stack, project: str
) -> None:
    cases = [
        (
            [goal("a", metricType="UNIQUE_CONVERSIONS", cap={"kind": "ABSOLUTE", "value": 1})],
            {},
            "metricGoals[0].cap",
        ),
        ([goal("a", cap={"kind": "PERCENTILE", "value": 100})], {}, "metricGoals[0].cap.value"),
        ([goal("a"), goal("b", role="PRIMARY")], {}, "metricGoals[1].role"),
        (
            [
                goal(
                    "a",
                    metricType="FORMULA",
                    formula={"operator": "RATIO", "numerator": "a", "denominator": "b"},
                )
            ],
            {},
            "metricGoals[0].formula.numerator",
        ),
        ([goal("a", metricType="RETENTION")], {}, "metricGoals[0].retentionDay"),
        ([goal("a", metricType="FUNNEL")], {}, "metricGoals[0].funnelSteps"),
        (
            [goal("a", metricType="RETENTION", retentionDay=1, conversionWindowSeconds=3600)],
            {},
            "metricGoals[0].conversionWindowSeconds",
        ),
        (
            [goal("a")],
            {"exposureEvent": {"eventPattern": "[1]", "entityIdKey": "u"}},
            "exposureEvent.eventPattern",
        ),
        # The model's own bounds, in AWS's words and paths.
        ([goal("a", retentionDay=91)], {}, "metricGoals.1.member.retentionDay"),
        ([goal("a")], {"parentId": "not a lab"}, "parentId"),
        ([goal("a")], {"links": {f"k{i}": "v" for i in range(21)}}, "links"),
    ]
    for goals, members, field in cases:
        response = create(stack, project, "bad", goals, **members)
        assert response.status_code == 400, (field, response.text)
        assert response.headers["x-amzn-errortype"] == "ValidationException"
        assert field in response.json()["message"], (field, response.text)
    listed = httpx.get(f"{stack.url('frontdoor')}/projects/{project}/experiments").json()
    assert listed["experiments"] == []


def test_a_running_experiment_changes_its_notes_but_not_what_it_measures(
    stack: Stack, evidently: Any, project: str
) -> None:
    created(stack, project, "e", GOALS, **SEED_004)
    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/e"
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    notes = httpx.patch(
        url,
        json={
            "hypothesis": "revised",
            "links": {"doc": "https://example.com/d"},
            "subjectType": "device",
            "parentId": "checkout-lab",
        },
    )
    assert notes.status_code == 200, notes.text
    body = notes.json()["experiment"]
    assert (body["hypothesis"], body["links"]) == ("revised", {"doc": "https://example.com/d"})
    assert (body["subjectType"], body["parentId"]) == ("DEVICE", "CHECKOUT-LAB")
    assert body["metricGoals"] == GOALS and body["status"] == "RUNNING"

    counted = [dict(GOALS[0], metricType="COUNT"), *GOALS[1:]]
    refused = httpx.patch(url, json={"metricGoals": counted, "hypothesis": "lost"})
    assert refused.status_code == 409, refused.text
    assert refused.headers["x-amzn-errortype"] == "ConflictException"
    assert "metricGoals[0].metricType" in refused.json()["message"]
    exposure = {"eventPattern": pattern("clicked"), "entityIdKey": "userDetails.userId"}
    moved = httpx.patch(url, json={"exposureEvent": exposure})
    assert moved.status_code == 409 and "exposureEvent" in moved.json()["message"]
    after = httpx.get(url).json()["experiment"]
    assert after["metricGoals"] == GOALS and after["hypothesis"] == "revised"
    assert after["exposureEvent"] == SEED_004["exposureEvent"]


def test_a_stock_boto3_client_works_and_ignores_the_members(
    stack: Stack, evidently: Any, project: str
) -> None:
    created(stack, project, "e", GOALS, **SEED_004)
    got = evidently.get_experiment(project=project, experiment="e")["experiment"]
    assert got["name"] == "e" and "parentId" not in got and "hypothesis" not in got
    assert [g["metricDefinition"]["name"] for g in got["metricGoals"]] == [
        "revenue",
        "checkout",
        "revenue_per_checkout",
    ]
    assert all(set(g) == {"metricDefinition", "desiredChange"} for g in got["metricGoals"])
    (listed,) = evidently.list_experiments(project=project)["experiments"]
    assert listed["name"] == "e"
    evidently.update_experiment(project=project, experiment="e", description="from boto3")
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    evidently.stop_experiment(project=project, experiment="e", desiredState="CANCELLED")
    # What boto3 does not send, it does not change.
    kept = httpx.get(f"{stack.url('frontdoor')}/projects/{project}/experiments/e").json()
    experiment = kept["experiment"]
    assert experiment["description"] == "from boto3" and experiment["status"] == "CANCELLED"
    assert experiment["metricGoals"] == GOALS and experiment["links"] == SEED_004["links"]


def test_a_labs_experiments_across_projects_in_pages(
    stack: Stack, evidently: Any, unique: str
) -> None:
    projects = [f"lab-a-{unique}", f"lab-b-{unique}"]
    lab_one, lab_two = f"one-{unique}", f"two-{unique}"
    for project in projects:
        evidently.create_project(name=project)
        make_feature(evidently, project)
        for name in ("x", "y"):
            created(stack, project, name, [goal("m")], parentId=lab_one)
        created(
            stack,
            project,
            "z",
            [goal("m", metricType="UNIQUE_CONVERSIONS")],
            parentId=lab_two.upper(),
        )
    base = stack.url("frontdoor")

    def page(lab: str, **query: Any) -> dict[str, Any]:
        response = httpx.get(f"{base}/labs/{lab}/experiments", params=query)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    first = page(lab_one, maxResults=3)
    # The token holds for any spelling of the lab's id.
    second = page(lab_one.upper(), maxResults=3, nextToken=first["nextToken"])
    assert "nextToken" not in second
    seen = [
        (x["arn"].split("/")[1], x["name"]) for x in first["experiments"] + second["experiments"]
    ]
    assert seen == [(p, n) for p in projects for n in ("x", "y")]
    everything = first["experiments"] + second["experiments"]
    assert {x["parentId"] for x in everything} == {lab_one.upper()}
    assert all(x["metricGoals"][0]["metricType"] == "SUM" for x in everything)
    two = page(lab_two.capitalize())
    assert [(x["arn"].split("/")[1], x["name"]) for x in two["experiments"]] == [
        (p, "z") for p in projects
    ]
    assert two["experiments"][0]["metricGoals"][0]["metricType"] == "UNIQUE_CONVERSIONS"
    assert page(f"nobody-{unique}") == {"experiments": []}
    bad = httpx.get(f"{base}/labs/not%20a%20lab/experiments")
    assert bad.status_code == 400 and bad.headers["x-amzn-errortype"] == "ValidationException"
    wrong = httpx.get(
        f"{base}/labs/{lab_two}/experiments", params={"nextToken": first["nextToken"]}
    )
    assert wrong.status_code == 400 and "nextToken" in wrong.json()["message"]
    # A lab follows its experiments: moving one moves it between listings.
    moved = httpx.patch(f"{base}/projects/{projects[0]}/experiments/x", json={"parentId": lab_two})
    assert moved.status_code == 200, moved.text
    assert [x["name"] for x in page(lab_two)["experiments"]] == ["x", "z", "z"]
