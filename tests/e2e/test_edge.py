"""Regression tests for what the HTTP edge once let through, each through the real stack.

The destructive one first: an encoded "/" in a name once became a path separator,
so delete_project("P/features/F") deleted feature F of project P.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from infra.launch.stack import Stack
from tests.e2e.helpers import make_experiment, make_feature, now

pytestmark = pytest.mark.e2e

ARN = "arn:aws:evidently:us-east-1:000000000000"


@pytest.fixture
def project(evidently: Any, unique: str) -> str:
    name = f"edge-{unique}"
    evidently.create_project(name=name)
    make_feature(evidently, name, "F")
    return name


def test_a_crafted_name_cannot_delete_another_resource(
    evidently: Any, unvalidated: Any, project: str
) -> None:
    with pytest.raises(unvalidated.exceptions.ValidationException, match="project"):
        unvalidated.delete_project(project=f"{project}/features/F")
    assert evidently.get_feature(project=project, feature="F")["feature"]["name"] == "F"


def test_a_crafted_name_cannot_update_another_resource(
    evidently: Any, unvalidated: Any, project: str
) -> None:
    with pytest.raises(unvalidated.exceptions.ValidationException, match="project"):
        unvalidated.update_project(project=f"{project}/features/F", description="overwritten")
    assert "description" not in evidently.get_feature(project=project, feature="F")["feature"]


def test_a_crafted_name_cannot_read_another_list(unvalidated: Any, project: str) -> None:
    with pytest.raises(unvalidated.exceptions.ValidationException, match="project"):
        unvalidated.get_project(project=f"{project}/features")


@pytest.mark.parametrize("service", ["frontdoor", "command"])
@pytest.mark.parametrize("label", ["a%20b%21", "x" * 128, "a%2Fb", "%FF"])
def test_a_bad_label_is_a_validation_error_on_every_port(
    stack: Stack, service: str, label: str
) -> None:
    response = httpx.get(f"{stack.url(service)}/projects/{label}")
    assert response.status_code == 400
    assert response.headers["x-amzn-errortype"] == "ValidationException"
    assert "project" in response.json()["message"]


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:evidently:eu-west-1:000000000000:project/{p}",
        "arn:aws:evidently:us-east-1:111122223333:project/{p}",
        "arn:aws:evidently:us-east-1:000000000000:segment/{p}",
    ],
)
def test_an_arn_of_another_region_account_or_kind_is_refused(
    evidently: Any, unvalidated: Any, project: str, arn: str
) -> None:
    with pytest.raises(unvalidated.exceptions.ValidationException, match="project"):
        unvalidated.delete_feature(project=arn.format(p=project), feature="F")
    assert evidently.get_feature(project=project, feature="F")["feature"]["name"] == "F"


def test_this_regions_arn_still_names_the_project(evidently: Any, project: str) -> None:
    got = evidently.get_feature(project=f"{ARN}:project/{project}", feature="F")
    assert got["feature"]["project"] == f"{ARN}:project/{project}"


def test_tags_of_another_region_are_refused(unvalidated: Any, project: str) -> None:
    with pytest.raises(unvalidated.exceptions.ValidationException, match="resourceArn"):
        unvalidated.list_tags_for_resource(
            resourceArn=f"arn:aws:evidently:eu-west-1:000000000000:project/{project}"
        )


def _event(**change: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "timestamp": now(),
        "type": "aws.evidently.custom",
        "data": json.dumps({"x": 1}),
    }
    event.update(change)
    return {k: v for k, v in event.items() if v is not None}


@pytest.mark.parametrize(
    "bad",
    [
        _event(type="aws.evidently.other"),
        _event(timestamp=None),
        _event(type=None),
        _event(data=None),
        _event(data={"x": 1}),
    ],
    ids=["type-enum", "no-timestamp", "no-type", "no-data", "data-object"],
)
def test_an_event_that_breaks_the_model_fails_the_request(
    unvalidated: Any, project: str, bad: dict[str, Any]
) -> None:
    with pytest.raises(unvalidated.exceptions.ValidationException, match="events.2.member"):
        unvalidated.put_project_events(project=project, events=[_event(), bad])


@pytest.mark.parametrize("timestamp", ["yesterday", "2024-01-01T00:00:00Z"])
def test_an_event_timestamp_is_a_number(stack: Stack, project: str, timestamp: str) -> None:
    event = {"timestamp": timestamp, "type": "aws.evidently.custom", "data": "{}"}
    response = httpx.post(
        f"{stack.url('frontdoor')}/events/projects/{project}", json={"events": [event]}
    )
    assert response.status_code == 400
    assert "events.1.member.timestamp" in response.json()["message"]


def test_what_only_the_server_knows_fails_its_own_event(evidently: Any, project: str) -> None:
    response = evidently.put_project_events(
        project=project,
        events=[_event(), _event(data="[1]"), _event(timestamp=now() + timedelta(days=2))],
    )
    assert response["failedEventCount"] == 2
    assert [r.get("errorCode") for r in response["eventResults"]] == [
        None,
        "ValidationException",
        "ValidationException",
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"samplingRate": "50000"},
        {"onlineAbConfig": {"treatmentWeights": {"control": "50000", "treatment": 50000}}},
        {"description": 5},
    ],
)
def test_types_are_not_coerced(unvalidated: Any, project: str, change: dict[str, Any]) -> None:
    field = next(iter(change))
    with pytest.raises(unvalidated.exceptions.ValidationException, match=field):
        make_experiment(unvalidated, project, feature="F", **change)


def test_a_launch_override_order_is_a_number(unvalidated: Any, project: str) -> None:
    steps = {
        "steps": [
            {
                "startTime": now(),
                "groupWeights": {"g": 100000},
                "segmentOverrides": [
                    {"segment": "s", "evaluationOrder": "1", "weights": {"g": 100000}}
                ],
            }
        ]
    }
    with pytest.raises(unvalidated.exceptions.ValidationException, match="evaluationOrder"):
        unvalidated.create_launch(
            project=project,
            name="l",
            groups=[{"name": "g", "feature": "F", "variation": "control"}],
            scheduledSplitsConfig=steps,
        )


def test_at_most_50_tags(evidently: Any, unvalidated: Any, project: str) -> None:
    """Evidently documents 50 tags per resource; the model's TagMap has no limit."""
    tags = {f"k{i}": "v" for i in range(51)}
    with pytest.raises(unvalidated.exceptions.ValidationException, match="50 tags"):
        unvalidated.create_feature(
            project=project,
            name="tagged",
            variations=[{"name": "a", "value": {"boolValue": True}}],
            tags=tags,
        )
    arn = f"{ARN}:project/{project}/feature/F"
    evidently.tag_resource(resourceArn=arn, tags=dict(list(tags.items())[:50]))
    with pytest.raises(unvalidated.exceptions.ValidationException, match="50 tags"):
        unvalidated.tag_resource(resourceArn=arn, tags={"one-more": "v"})
    assert len(evidently.list_tags_for_resource(resourceArn=arn)["tags"]) == 50


def test_update_needs_a_variation_in_add_or_update(unvalidated: Any, project: str) -> None:
    with pytest.raises(unvalidated.exceptions.ValidationException, match="addOrUpdateVariations"):
        unvalidated.update_feature(project=project, feature="F", addOrUpdateVariations=[])


@pytest.mark.parametrize(
    "keys",
    [None, [""], ["k" * 129], ["aws:reserved"]],
    ids=["missing", "empty", "too-long", "reserved"],
)
def test_untag_needs_valid_keys(stack: Stack, project: str, keys: list[str] | None) -> None:
    arn = quote(f"{ARN}:project/{project}", safe="")
    params = [("tagKeys", k) for k in keys or []]
    response = httpx.delete(f"{stack.url('frontdoor')}/tags/{arn}", params=params)
    assert response.status_code == 400
    assert "tagKeys" in response.json()["message"]


def test_a_results_window_over_30_days_is_refused(unvalidated: Any, project: str) -> None:
    make_experiment(unvalidated, project, feature="F")
    unvalidated.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    started = unvalidated.get_experiment(project=project, experiment="e")["experiment"]
    start = started["execution"]["startedTime"]
    with pytest.raises(unvalidated.exceptions.ValidationException, match="endTime"):
        unvalidated.get_experiment_results(
            project=project,
            experiment="e",
            metricNames=["revenue"],
            treatmentNames=["treatment"],
            startTime=start,
            endTime=start + timedelta(days=31),
        )


def test_segment_references_page_by_50_by_default(evidently: Any, unique: str) -> None:
    project = f"refs-{unique}"
    segment = f"seg-{unique}"
    evidently.create_project(name=project)
    evidently.create_segment(name=segment, pattern=json.dumps({"a": [{"exists": True}]}))
    make_feature(evidently, project, "f")
    for i in range(51):
        make_experiment(evidently, project, name=f"e{i:02d}", feature="f", segment=segment)
    first = evidently.list_segment_references(segment=segment, type="EXPERIMENT")
    assert len(first["referencedBy"]) == 50 and "nextToken" in first
    rest = evidently.list_segment_references(
        segment=segment, type="EXPERIMENT", nextToken=first["nextToken"]
    )
    assert [r["name"] for r in rest["referencedBy"]] == ["e50"] and "nextToken" not in rest


def test_pagination_tokens_are_checked(evidently: Any, unvalidated: Any, project: str) -> None:
    for name in ("G1", "G2"):
        make_feature(evidently, project, name)
    page = evidently.list_features(project=project, maxResults=1)
    token = page["nextToken"]
    assert evidently.list_features(project=project, maxResults=1, nextToken=token)["features"]
    with pytest.raises(unvalidated.exceptions.ValidationException, match="nextToken"):
        unvalidated.list_features(project=project, nextToken="")
    with pytest.raises(unvalidated.exceptions.ValidationException, match="nextToken"):
        unvalidated.list_features(project=project, nextToken="AAAA")
    with pytest.raises(unvalidated.exceptions.ValidationException, match="another list"):
        unvalidated.list_experiments(project=project, nextToken=token)


def test_an_app_config_profile_id_is_minted(evidently: Any, unique: str) -> None:
    created = evidently.create_project(
        name=f"appcfg-{unique}",
        appConfigResource={"applicationId": "abc1234", "environmentId": "def5678"},
    )["project"]["appConfigResource"]
    profile = created["configurationProfileId"]
    assert len(profile) == 7 and profile.isalnum() and profile == profile.lower()
    got = evidently.get_project(project=f"appcfg-{unique}")["project"]["appConfigResource"]
    assert got["configurationProfileId"] == profile


def test_the_front_door_serves_openapi(stack: Stack) -> None:
    document = httpx.get(f"{stack.url('frontdoor')}/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "/projects/{project}/evaluations/{feature}" in document["paths"]


@pytest.mark.parametrize(
    ("service", "method", "path"),
    [
        ("command", "POST", "/projects/p/evaluations/f"),
        ("evaluation", "GET", "/projects/p"),
        ("results", "DELETE", "/projects/p"),
    ],
)
def test_a_service_answers_only_its_own_operations(
    stack: Stack, service: str, method: str, path: str
) -> None:
    response = httpx.request(method, f"{stack.url(service)}{path}", json={})
    assert response.status_code == 404
    assert response.headers["x-amzn-errortype"] == "UnknownOperationException"


def test_every_error_carries_the_callers_request_id(stack: Stack) -> None:
    response = httpx.get(
        f"{stack.url('frontdoor')}/projects/a%20b", headers={"x-request-id": "trace-1"}
    )
    assert response.status_code == 400
    assert response.headers["x-amzn-requestid"] == "trace-1"


def test_a_dot_name_cannot_turn_into_another_operation(
    stack: Stack, evidently: Any, unique: str
) -> None:
    """ ".." is a valid feature name; through the front door it must stay one, not
    resolve away and make DeleteFeature a DeleteProject."""
    import http.client
    from urllib.parse import urlparse

    empty = f"dots-{unique}"
    evidently.create_project(name=empty)
    address = urlparse(stack.url("frontdoor"))
    conn = http.client.HTTPConnection(address.hostname or "", address.port)
    try:
        conn.request("DELETE", f"/projects/{empty}/features/..")
        response = conn.getresponse()
        body = json.loads(response.read())
    finally:
        conn.close()
    assert response.status == 404 and "feature .." in body["message"]
    assert evidently.get_project(project=empty)["project"]["name"] == empty
