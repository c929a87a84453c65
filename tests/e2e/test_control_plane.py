"""Every control-plane operation through a stock boto3 1.42.50 client, errors included."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests.e2e.helpers import (
    make_experiment,
    make_feature,
    make_launch,
    metric_goal,
    now,
    variations,
)

pytestmark = pytest.mark.e2e

ARN = "arn:aws:evidently:us-east-1:000000000000"


@pytest.fixture
def project(evidently: Any, unique: str) -> str:
    name = f"cp-{unique}"
    evidently.create_project(name=name, description="control plane")
    return name


# -- projects -------------------------------------------------------------


def test_project_lifecycle(evidently: Any, unique: str) -> None:
    name = f"proj-{unique}"
    created = evidently.create_project(
        name=name,
        description="first",
        tags={"team": "growth"},
        dataDelivery={"cloudWatchLogs": {"logGroup": "verdict/events"}},
    )["project"]
    assert created["arn"] == f"{ARN}:project/{name}"
    assert created["status"] == "AVAILABLE"
    assert created["tags"] == {"team": "growth"}
    assert created["dataDelivery"] == {"cloudWatchLogs": {"logGroup": "verdict/events"}}
    for counter in (
        "featureCount",
        "launchCount",
        "activeLaunchCount",
        "experimentCount",
        "activeExperimentCount",
    ):
        assert created[counter] == 0

    updated = evidently.update_project(project=name, description="second")["project"]
    assert updated["description"] == "second"
    assert updated["lastUpdatedTime"] >= created["lastUpdatedTime"]

    delivered = evidently.update_project_data_delivery(
        project=f"{ARN}:project/{name}", s3Destination={"bucket": "my-bucket", "prefix": "x/"}
    )["project"]
    assert delivered["dataDelivery"] == {"s3Destination": {"bucket": "my-bucket", "prefix": "x/"}}

    by_arn = evidently.get_project(project=f"{ARN}:project/{name}")["project"]
    assert by_arn["description"] == "second"

    evidently.delete_project(project=name)
    with pytest.raises(evidently.exceptions.ResourceNotFoundException):
        evidently.get_project(project=name)


def test_project_counters_follow_its_resources(evidently: Any, project: str) -> None:
    make_feature(evidently, project)
    make_launch(evidently, project)
    make_experiment(evidently, project)
    evidently.start_launch(project=project, launch="l")
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    counts = evidently.get_project(project=project)["project"]
    assert (counts["featureCount"], counts["launchCount"], counts["activeLaunchCount"]) == (1, 1, 1)
    assert (counts["experimentCount"], counts["activeExperimentCount"]) == (1, 1)


def test_list_projects_paginates(evidently: Any, unique: str) -> None:
    names = {f"page-{unique}-{i:02d}" for i in range(7)}
    for n in names:
        evidently.create_project(name=n)
    seen: list[str] = []
    pages = 0
    for page in evidently.get_paginator("list_projects").paginate(PaginationConfig={"PageSize": 3}):
        pages += 1
        assert len(page["projects"]) <= 3
        seen += [p["name"] for p in page["projects"]]
    assert names <= set(seen)
    assert len(seen) == len(set(seen)), "a project appeared on two pages"
    assert pages >= 3


def test_deleting_a_project_with_features_conflicts(evidently: Any, project: str) -> None:
    make_feature(evidently, project)
    with pytest.raises(evidently.exceptions.ConflictException):
        evidently.delete_project(project=project)
    evidently.delete_feature(project=project, feature="f")
    evidently.delete_project(project=project)


def test_project_validation_names_the_field(unvalidated: Any, unique: str) -> None:
    evidently = unvalidated
    with pytest.raises(evidently.exceptions.ValidationException, match="'name'"):
        evidently.create_project(name="x" * 128)
    with pytest.raises(evidently.exceptions.ValidationException, match="description"):
        evidently.create_project(name=f"ok-{unique}", description="d" * 161)
    with pytest.raises(evidently.exceptions.ValidationException, match="tags"):
        evidently.create_project(name=f"ok-{unique}", tags={"aws:reserved": "x"})
    with pytest.raises(evidently.exceptions.ValidationException, match="maxResults"):
        evidently.list_projects(maxResults=51)
    with pytest.raises(evidently.exceptions.ValidationException, match="not both"):
        evidently.create_project(
            name=f"ok-{unique}",
            dataDelivery={"cloudWatchLogs": {"logGroup": "g"}, "s3Destination": {"bucket": "bkt"}},
        )


# -- features -------------------------------------------------------------


def test_feature_lifecycle(evidently: Any, project: str) -> None:
    created = evidently.create_feature(
        project=project,
        name="price",
        description="price test",
        variations=variations("low", "mid", "high", kind="doubleValue"),
        defaultVariation="mid",
        entityOverrides={"vip": "high"},
        tags={"a": "b"},
    )["feature"]
    assert created["arn"] == f"{ARN}:project/{project}/feature/price"
    assert created["valueType"] == "DOUBLE"
    assert created["defaultVariation"] == "mid"
    assert created["evaluationStrategy"] == "ALL_RULES"
    assert created["entityOverrides"] == {"vip": "high"}

    updated = evidently.update_feature(
        project=project,
        feature="price",
        addOrUpdateVariations=[
            {"name": "mid", "value": {"doubleValue": 9.5}},
            {"name": "free", "value": {"doubleValue": 0.0}},
        ],
        removeVariations=["low"],
        evaluationStrategy="DEFAULT_VARIATION",
        entityOverrides={},
    )["feature"]
    assert {v["name"]: v["value"]["doubleValue"] for v in updated["variations"]} == {
        "mid": 9.5,
        "high": 2.5,
        "free": 0.0,
    }
    assert updated["evaluationStrategy"] == "DEFAULT_VARIATION"
    assert updated["entityOverrides"] == {}

    summaries = evidently.list_features(project=project)["features"]
    assert [f["name"] for f in summaries] == ["price"]

    evidently.delete_feature(project=project, feature="price")
    with pytest.raises(evidently.exceptions.ResourceNotFoundException):
        evidently.get_feature(project=project, feature="price")


def test_feature_paginator(evidently: Any, project: str) -> None:
    for i in range(5):
        make_feature(evidently, project, f"f{i}")
    names = [
        f["name"]
        for page in evidently.get_paginator("list_features").paginate(
            project=project, PaginationConfig={"PageSize": 2}
        )
        for f in page["features"]
    ]
    assert names == [f"f{i}" for i in range(5)]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"variations": []}, "variations"),
        ({"variations": variations("a", "a")}, "variations"),
        ({"defaultVariation": "nope"}, "defaultVariation"),
        ({"entityOverrides": {"u": "nope"}}, "entityOverrides"),
        ({"variations": [{"name": "a", "value": {"stringValue": "x" * 513}}]}, "stringValue"),
        ({"variations": [{"name": "a", "value": {"longValue": 2**60}}]}, "longValue"),
    ],
)
def test_invalid_features_are_rejected_naming_the_field(
    unvalidated: Any, project: str, kwargs: dict[str, Any], field: str
) -> None:
    params: dict[str, Any] = {"project": project, "name": "bad", "variations": variations("a", "b")}
    params.update(kwargs)
    with pytest.raises(unvalidated.exceptions.ValidationException, match=field):
        unvalidated.create_feature(**params)


def test_feature_errors(evidently: Any, project: str, unique: str) -> None:
    with pytest.raises(evidently.exceptions.ResourceNotFoundException, match="project"):
        evidently.create_feature(project=f"missing-{unique}", name="f", variations=variations("a"))
    make_feature(evidently, project)
    with pytest.raises(evidently.exceptions.ConflictException):
        make_feature(evidently, project)
    with pytest.raises(evidently.exceptions.ResourceNotFoundException, match="feature"):
        evidently.update_feature(project=project, feature="ghost", description="x")


def test_features_in_use_cannot_lose_variations_or_be_deleted(evidently: Any, project: str) -> None:
    make_feature(evidently, project)
    make_launch(evidently, project)
    # Not running yet: deleting is allowed by Evidently's rule, so only test once running.
    evidently.start_launch(project=project, launch="l")
    with pytest.raises(evidently.exceptions.ConflictException, match="running"):
        evidently.update_feature(project=project, feature="f", removeVariations=["treatment"])
    with pytest.raises(evidently.exceptions.ConflictException, match="launch l"):
        evidently.delete_feature(project=project, feature="f")
    rules = evidently.get_feature(project=project, feature="f")["feature"]["evaluationRules"]
    assert rules == [{"name": "l", "type": "aws.evidently.splits"}]


# -- launches -------------------------------------------------------------


def test_launch_lifecycle(evidently: Any, project: str, unique: str) -> None:
    make_feature(evidently, project)
    segment = f"seg-{unique}"
    evidently.create_segment(name=segment, pattern=json.dumps({"plan": ["pro"]}))
    start = now() - timedelta(minutes=5)
    launch = evidently.create_launch(
        project=project,
        name="rollout",
        description="ramp",
        groups=[
            {"name": "old", "feature": "f", "variation": "control", "description": "was"},
            {"name": "new", "feature": "f", "variation": "treatment"},
        ],
        metricMonitors=[{"metricDefinition": metric_goal()["metricDefinition"]}],
        randomizationSalt="salty",
        scheduledSplitsConfig={
            "steps": [
                {
                    "startTime": start,
                    "groupWeights": {"old": 90000, "new": 10000},
                    "segmentOverrides": [
                        {"segment": segment, "evaluationOrder": 1, "weights": {"new": 100000}}
                    ],
                },
                {"startTime": start + timedelta(days=1), "groupWeights": {"old": 0, "new": 100000}},
            ]
        },
    )["launch"]
    assert launch["status"] == "CREATED"
    assert launch["type"] == "aws.evidently.splits"
    assert launch["randomizationSalt"] == "salty"
    assert launch["groups"][0] == {
        "name": "old",
        "description": "was",
        "featureVariations": {"f": "control"},
    }
    steps = launch["scheduledSplitsDefinition"]["steps"]
    assert steps[0]["segmentOverrides"][0]["segment"] == f"{ARN}:segment/{segment}"
    assert len(steps) == 2

    started = evidently.start_launch(project=project, launch="rollout")["launch"]
    assert started["status"] == "RUNNING"
    assert "startedTime" in started["execution"]
    with pytest.raises(evidently.exceptions.ConflictException):
        evidently.start_launch(project=project, launch="rollout")
    with pytest.raises(evidently.exceptions.ConflictException, match="running"):
        evidently.delete_launch(project=project, launch="rollout")

    ramped = evidently.update_launch(
        project=project,
        launch="rollout",
        scheduledSplitsConfig={
            "steps": [{"startTime": start, "groupWeights": {"old": 50000, "new": 50000}}]
        },
    )["launch"]
    assert ramped["scheduledSplitsDefinition"]["steps"][0]["groupWeights"] == {
        "old": 50000,
        "new": 50000,
    }

    assert [
        x["name"] for x in evidently.list_launches(project=project, status="RUNNING")["launches"]
    ] == ["rollout"]
    assert evidently.list_launches(project=project, status="COMPLETED")["launches"] == []

    ended = evidently.stop_launch(
        project=project, launch="rollout", desiredState="CANCELLED", reason="bug"
    )
    assert "endedTime" in ended
    got = evidently.get_launch(project=project, launch="rollout")["launch"]
    assert (got["status"], got["statusReason"]) == ("CANCELLED", "bug")
    with pytest.raises(evidently.exceptions.ValidationException, match="not RUNNING"):
        evidently.stop_launch(project=project, launch="rollout")
    with pytest.raises(evidently.exceptions.ConflictException):
        evidently.update_launch(project=project, launch="rollout", description="too late")
    evidently.delete_launch(project=project, launch="rollout")
    with pytest.raises(evidently.exceptions.ResourceNotFoundException):
        evidently.get_launch(project=project, launch="rollout")


@pytest.mark.parametrize(
    ("change", "error", "field"),
    [
        (
            {"groups": [{"name": "g", "feature": "ghost", "variation": "control"}]},
            "ResourceNotFoundException",
            "ghost",
        ),
        (
            {"groups": [{"name": "g", "feature": "f", "variation": "nope"}]},
            "ValidationException",
            "variation",
        ),
        (
            {
                "scheduledSplitsConfig": {
                    "steps": [
                        {
                            "startTime": now(),
                            "groupWeights": {"g-control": 90000, "g-treatment": 20000},
                        }
                    ]
                }
            },
            "ValidationException",
            "groupWeights",
        ),
        (
            {
                "scheduledSplitsConfig": {
                    "steps": [{"startTime": now(), "groupWeights": {"nope": 1}}]
                }
            },
            "ValidationException",
            "groupWeights",
        ),
        (
            {
                "scheduledSplitsConfig": {
                    "steps": [
                        {"startTime": now(), "groupWeights": {"g-control": 1}},
                        {"startTime": now() - timedelta(days=1), "groupWeights": {"g-control": 1}},
                    ]
                }
            },
            "ValidationException",
            "startTime",
        ),
        (
            {
                "scheduledSplitsConfig": {
                    "steps": [
                        {
                            "startTime": now(),
                            "groupWeights": {"g-control": 1},
                            "segmentOverrides": [
                                {"segment": "no-such-segment", "evaluationOrder": 1, "weights": {}}
                            ],
                        }
                    ]
                }
            },
            "ResourceNotFoundException",
            "segment",
        ),
    ],
)
def test_invalid_launches(
    unvalidated: Any, project: str, change: dict[str, Any], error: str, field: str
) -> None:
    make_feature(unvalidated, project)
    with pytest.raises(getattr(unvalidated.exceptions, error), match=field):
        make_launch(unvalidated, project, **change)


def test_launch_paginator(evidently: Any, project: str) -> None:
    make_feature(evidently, project)
    for i in range(4):
        make_launch(evidently, project, f"l{i}")
    pages = list(
        evidently.get_paginator("list_launches").paginate(
            project=project, PaginationConfig={"PageSize": 3}
        )
    )
    assert [len(p["launches"]) for p in pages] == [3, 1]


def test_launch_quota(evidently: Any, project: str) -> None:
    make_feature(evidently, project)
    for i in range(100):
        make_launch(evidently, project, f"q{i:03d}")
    with pytest.raises(evidently.exceptions.ServiceQuotaExceededException):
        make_launch(evidently, project, "one-too-many")


def test_one_running_launch_per_feature(evidently: Any, project: str) -> None:
    make_feature(evidently, project)
    make_launch(evidently, project, "first")
    make_launch(evidently, project, "second")
    evidently.start_launch(project=project, launch="first")
    with pytest.raises(
        evidently.exceptions.ConflictException, match="already have a running launch"
    ):
        evidently.start_launch(project=project, launch="second")


# -- experiments ----------------------------------------------------------


def test_experiment_lifecycle(evidently: Any, project: str, unique: str) -> None:
    make_feature(evidently, project, "f", "control", "treatment", "other")
    segment = f"seg-{unique}"
    evidently.create_segment(name=segment, pattern=json.dumps({"country": ["NZ"]}))
    created = make_experiment(
        evidently,
        project,
        "exp",
        description="d",
        randomizationSalt="s1",
        samplingRate=20000,
        segment=f"{ARN}:segment/{segment}",
        tags={"k": "v"},
    )
    assert created["status"] == "CREATED"
    assert created["type"] == "aws.evidently.onlineab"
    assert created["samplingRate"] == 20000
    assert created["segment"] == f"{ARN}:segment/{segment}"
    assert created["onlineAbDefinition"] == {
        "controlTreatmentName": "control",
        "treatmentWeights": {"control": 50000, "treatment": 50000},
    }
    assert created["metricGoals"][0]["desiredChange"] == "INCREASE"

    updated = evidently.update_experiment(
        project=project,
        experiment="exp",
        treatments=[
            {"name": "control", "feature": "f", "variation": "control"},
            {"name": "a", "feature": "f", "variation": "treatment"},
            {"name": "b", "feature": "f", "variation": "other"},
        ],
        onlineAbConfig={
            "controlTreatmentName": "control",
            "treatmentWeights": {"control": 40000, "a": 30000, "b": 30000},
        },
        removeSegment=True,
        samplingRate=50000,
    )["experiment"]
    assert [t["name"] for t in updated["treatments"]] == ["control", "a", "b"]
    assert "segment" not in updated

    with pytest.raises(evidently.exceptions.ValidationException, match="analysisCompleteTime"):
        evidently.start_experiment(
            project=project, experiment="exp", analysisCompleteTime=now() + timedelta(days=31)
        )
    started = evidently.start_experiment(
        project=project, experiment="exp", analysisCompleteTime=now() + timedelta(days=7)
    )
    assert started["startedTime"]
    got = evidently.get_experiment(project=project, experiment="exp")["experiment"]
    assert got["status"] == "RUNNING"
    assert "analysisCompleteTime" in got["schedule"]
    with pytest.raises(evidently.exceptions.ConflictException):
        evidently.start_experiment(
            project=project, experiment="exp", analysisCompleteTime=now() + timedelta(days=1)
        )
    with pytest.raises(evidently.exceptions.ConflictException, match="segment"):
        evidently.update_experiment(project=project, experiment="exp", segment=segment)
    # Traffic may still change while running.
    evidently.update_experiment(project=project, experiment="exp", samplingRate=100000)
    with pytest.raises(evidently.exceptions.ConflictException, match="running"):
        evidently.delete_experiment(project=project, experiment="exp")

    stopped = evidently.stop_experiment(
        project=project, experiment="exp", desiredState="COMPLETED", reason="enough"
    )
    assert stopped["endedTime"]
    with pytest.raises(evidently.exceptions.ConflictException):
        evidently.stop_experiment(project=project, experiment="exp")
    listed = evidently.list_experiments(project=project, status="COMPLETED")["experiments"]
    assert [x["name"] for x in listed] == ["exp"]
    evidently.delete_experiment(project=project, experiment="exp")
    with pytest.raises(evidently.exceptions.ResourceNotFoundException):
        evidently.get_experiment(project=project, experiment="exp")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"treatments": []}, "treatments"),
        (
            {
                "treatments": [
                    {"name": f"t{i}", "feature": "f", "variation": "control"} for i in range(6)
                ]
            },
            "treatments",
        ),
        ({"metricGoals": []}, "metricGoals"),
        ({"metricGoals": [metric_goal("a"), metric_goal("a")]}, "metricGoals"),
        (
            {
                "metricGoals": [
                    {
                        "metricDefinition": {
                            "name": "m",
                            "entityIdKey": "u",
                            "valueKey": "v",
                            "eventPattern": "{not json",
                        }
                    }
                ]
            },
            "eventPattern",
        ),
        ({"onlineAbConfig": {"controlTreatmentName": "ghost"}}, "controlTreatmentName"),
        (
            {"onlineAbConfig": {"treatmentWeights": {"control": 50000, "treatment": 40000}}},
            "treatmentWeights",
        ),
        ({"samplingRate": 100001}, "samplingRate"),
        ({"treatments": [{"name": "x", "feature": "f", "variation": "nope"}]}, "variation"),
    ],
)
def test_invalid_experiments(
    unvalidated: Any, project: str, change: dict[str, Any], field: str
) -> None:
    make_feature(unvalidated, project)
    with pytest.raises(unvalidated.exceptions.ValidationException, match=field):
        make_experiment(unvalidated, project, "bad", **change)


def test_experiment_paginator_and_one_running_per_feature(evidently: Any, project: str) -> None:
    make_feature(evidently, project)
    for i in range(3):
        make_experiment(evidently, project, f"e{i}")
    names = [
        x["name"]
        for page in evidently.get_paginator("list_experiments").paginate(
            project=project, PaginationConfig={"PageSize": 2}
        )
        for x in page["experiments"]
    ]
    assert names == ["e0", "e1", "e2"]
    evidently.start_experiment(
        project=project, experiment="e0", analysisCompleteTime=now() + timedelta(days=1)
    )
    with pytest.raises(evidently.exceptions.ConflictException, match="running experiment"):
        evidently.start_experiment(
            project=project, experiment="e1", analysisCompleteTime=now() + timedelta(days=1)
        )


# -- segments -------------------------------------------------------------


def test_segment_lifecycle_and_references(evidently: Any, project: str, unique: str) -> None:
    name = f"seg-{unique}"
    pattern = json.dumps({"browser": [{"prefix": "Fire"}], "age": [{"numeric": [">=", 18]}]})
    created = evidently.create_segment(
        name=name, pattern=pattern, description="adults on firefox", tags={"t": "1"}
    )["segment"]
    assert created["arn"] == f"{ARN}:segment/{name}"
    assert created["pattern"] == pattern
    assert (created["launchCount"], created["experimentCount"]) == (0, 0)
    assert evidently.get_segment(segment=f"{ARN}:segment/{name}")["segment"]["name"] == name

    make_feature(evidently, project)
    make_experiment(evidently, project, "e", segment=name)
    make_launch(
        evidently,
        project,
        "l",
        scheduledSplitsConfig={
            "steps": [
                {
                    "startTime": now(),
                    "groupWeights": {"g-control": 100000},
                    "segmentOverrides": [
                        {"segment": name, "evaluationOrder": 0, "weights": {"g-treatment": 100000}}
                    ],
                }
            ]
        },
    )
    counted = evidently.get_segment(segment=name)["segment"]
    assert (counted["launchCount"], counted["experimentCount"]) == (1, 1)
    refs = evidently.list_segment_references(segment=name, type="EXPERIMENT")["referencedBy"]
    assert [(r["name"], r["type"], r["status"]) for r in refs] == [("e", "EXPERIMENT", "CREATED")]
    assert refs[0]["arn"] == f"{ARN}:project/{project}/experiment/e"
    refs = evidently.list_segment_references(segment=name, type="LAUNCH")["referencedBy"]
    assert [(r["name"], r["type"]) for r in refs] == [("l", "LAUNCH")]

    # Not running, still in use: DeleteSegment refuses.
    with pytest.raises(evidently.exceptions.ConflictException, match="used by"):
        evidently.delete_segment(segment=name)
    evidently.delete_experiment(project=project, experiment="e")
    evidently.delete_launch(project=project, launch="l")
    evidently.delete_segment(segment=name)
    with pytest.raises(evidently.exceptions.ResourceNotFoundException):
        evidently.get_segment(segment=name)


def test_segment_paginators(evidently: Any, unique: str) -> None:
    names = {f"pag-{unique}-{i}" for i in range(5)}
    for n in names:
        evidently.create_segment(name=n, pattern=json.dumps({"a": ["b"]}))
    listed = [
        s["name"]
        for page in evidently.get_paginator("list_segments").paginate(
            PaginationConfig={"PageSize": 2}
        )
        for s in page["segments"]
    ]
    assert names <= set(listed)
    assert len(listed) == len(set(listed))
    refs = list(
        evidently.get_paginator("list_segment_references").paginate(
            segment=next(iter(names)), type="LAUNCH"
        )
    )
    assert refs[0]["referencedBy"] == []


@pytest.mark.parametrize(
    "pattern",
    [
        "not json",
        json.dumps(["a"]),
        json.dumps({"a": "not-a-list"}),
        json.dumps({"a": [{"bogus": 1}]}),
        json.dumps({"a": ["x" * 1100]}),
    ],
)
def test_invalid_segment_patterns(unvalidated: Any, unique: str, pattern: str) -> None:
    with pytest.raises(unvalidated.exceptions.ValidationException, match="pattern"):
        unvalidated.create_segment(name=f"bad-{unique}", pattern=pattern)


def test_test_segment_pattern(evidently: Any) -> None:
    pattern = json.dumps(
        {"user": {"country": ["US", "CA"], "age": [{"numeric": [">", 20, "<=", 30]}]}}
    )
    assert (
        evidently.test_segment_pattern(
            pattern=pattern, payload=json.dumps({"user": {"country": "CA", "age": 30}})
        )["match"]
        is True
    )
    assert (
        evidently.test_segment_pattern(
            pattern=pattern, payload=json.dumps({"user": {"country": "CA", "age": 31}})
        )["match"]
        is False
    )
    with pytest.raises(evidently.exceptions.ValidationException, match="payload"):
        evidently.test_segment_pattern(pattern=pattern, payload="[1, 2]")
    with pytest.raises(evidently.exceptions.ValidationException, match="pattern"):
        evidently.test_segment_pattern(pattern="{", payload="{}")


# -- tags -----------------------------------------------------------------


def test_tags_on_every_kind_of_resource(evidently: Any, project: str, unique: str) -> None:
    make_feature(evidently, project)
    make_launch(evidently, project)
    make_experiment(evidently, project)
    segment = f"tag-seg-{unique}"
    evidently.create_segment(name=segment, pattern=json.dumps({"a": ["b"]}))
    arns = [
        f"{ARN}:project/{project}",
        f"{ARN}:project/{project}/feature/f",
        f"{ARN}:project/{project}/launch/l",
        f"{ARN}:project/{project}/experiment/e",
        f"{ARN}:segment/{segment}",
    ]
    for arn in arns:
        evidently.tag_resource(resourceArn=arn, tags={"team": "growth", "cost": "42"})
        evidently.untag_resource(resourceArn=arn, tagKeys=["cost"])
        assert evidently.list_tags_for_resource(resourceArn=arn)["tags"] == {"team": "growth"}
    assert evidently.get_feature(project=project, feature="f")["feature"]["tags"] == {
        "team": "growth"
    }


def test_tag_errors(unvalidated: Any, project: str) -> None:
    evidently = unvalidated
    with pytest.raises(evidently.exceptions.ResourceNotFoundException):
        evidently.list_tags_for_resource(resourceArn=f"{ARN}:project/{project}/feature/ghost")
    with pytest.raises(evidently.exceptions.ResourceNotFoundException):
        evidently.tag_resource(resourceArn="arn:aws:s3:::bucket", tags={"a": "b"})
    with pytest.raises(evidently.exceptions.ValidationException, match="tags"):
        evidently.tag_resource(resourceArn=f"{ARN}:project/{project}", tags={"aws:x": "y"})
