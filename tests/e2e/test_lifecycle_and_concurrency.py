"""Seed 004 on top of Evidently: resourceVersion, If-Match, winner, endedReason, archive,
the audit log, and projections that survive a restart unchanged."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from infra.launch.stack import Stack
from tests.e2e.helpers import make_experiment, make_feature, make_launch, now

pytestmark = pytest.mark.e2e

ARN = "arn:aws:evidently:us-east-1:000000000000"


@pytest.fixture
def project(evidently: Any, unique: str) -> str:
    name = f"life-{unique}"
    evidently.create_project(name=name)
    return name


def test_every_resource_carries_its_version_and_an_etag(
    evidently: Any, stack: Stack, project: str
) -> None:
    make_feature(evidently, project)
    url = f"{stack.url('frontdoor')}/projects/{project}/features/f"
    first = httpx.get(url)
    assert first.headers["etag"] == '"1"'
    assert first.json()["feature"]["resourceVersion"] == 1
    evidently.update_feature(project=project, feature="f", description="v2")
    second = httpx.get(url)
    assert second.headers["etag"] == '"2"'


def test_stale_if_match_is_a_conflict_and_loses_nothing(
    stack: Stack, evidently: Any, project: str
) -> None:
    make_feature(evidently, project)
    url = f"{stack.url('frontdoor')}/projects/{project}/features/f"
    ok = httpx.patch(url, json={"description": "from v1"}, headers={"If-Match": '"1"'})
    assert ok.status_code == 200
    stale = httpx.patch(url, json={"description": "also from v1"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 409
    assert stale.headers["x-amzn-errortype"] == "ConflictException"
    assert httpx.get(url).json()["feature"]["description"] == "from v1"
    bad = httpx.patch(url, json={"description": "x"}, headers={"If-Match": "yesterday"})
    assert bad.status_code == 400 and "If-Match" in bad.json()["message"]


async def test_concurrent_writers_on_one_version_exactly_one_wins(
    stack: Stack, evidently: Any, project: str
) -> None:
    make_feature(evidently, project)
    url = f"{stack.url('frontdoor')}/projects/{project}/features/f"
    writers = 16
    async with httpx.AsyncClient(timeout=30) as client:
        responses = await asyncio.gather(
            *(
                client.patch(url, json={"description": f"writer {i}"}, headers={"If-Match": '"1"'})
                for i in range(writers)
            )
        )
    codes = [r.status_code for r in responses]
    assert codes.count(200) == 1 and codes.count(409) == writers - 1
    winner = codes.index(200)
    feature = httpx.get(url).json()["feature"]
    assert feature["description"] == f"writer {winner}"
    assert feature["resourceVersion"] == 2


async def test_concurrent_writers_without_if_match_all_land(
    stack: Stack, evidently: Any, project: str
) -> None:
    """Without a version, racing writers retry on the caught-up view: no update is lost."""
    make_feature(evidently, project)
    arn = f"{ARN}:project/{project}/feature/f"
    # A label is one path segment: the ARN's "/" travel encoded, as botocore sends them.
    url = f"{stack.url('frontdoor')}/tags/{quote(arn, safe='')}"
    async with httpx.AsyncClient(timeout=30) as client:
        responses = await asyncio.gather(
            *(client.post(url, json={"tags": {f"k{i}": str(i)}}) for i in range(10))
        )
    assert [r.status_code for r in responses] == [200] * 10, [r.text for r in responses]
    assert evidently.list_tags_for_resource(resourceArn=arn)["tags"] == {
        f"k{i}": str(i) for i in range(10)
    }


def test_seed_004_lifecycle(stack: Stack, evidently: Any, project: str) -> None:
    make_feature(evidently, project)
    make_experiment(evidently, project, "e")
    base = f"{stack.url('frontdoor')}/projects/{project}/experiments/e"
    assert httpx.get(base).json()["experiment"]["lifecycleStatus"] == "draft"
    too_early = httpx.post(f"{base}/winner", json={"treatment": "treatment"})
    assert too_early.status_code == 409

    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=2)
    )
    assert httpx.get(base).json()["experiment"]["lifecycleStatus"] == "active"
    unknown = httpx.post(f"{base}/winner", json={"treatment": "ghost"})
    assert (
        unknown.status_code == 400 and unknown.headers["x-amzn-errortype"] == "ValidationException"
    )
    declared = httpx.post(f"{base}/winner", json={"treatment": "treatment"})
    assert declared.status_code == 200
    body = declared.json()["experiment"]
    assert (body["lifecycleStatus"], body["winningTreatment"], body["status"]) == (
        "winner_declared",
        "treatment",
        "RUNNING",
    )

    not_ended = httpx.post(f"{base}/archive")
    assert not_ended.status_code == 409
    bad_reason = httpx.post(f"{base}/cancel", json={"endedReason": "bored"})
    assert bad_reason.status_code == 400 and "endedReason" in bad_reason.json()["message"]
    ended = httpx.post(
        f"{base}/cancel", json={"desiredState": "COMPLETED", "endedReason": "success"}
    )
    assert ended.status_code == 200
    body = httpx.get(base).json()["experiment"]
    assert (body["lifecycleStatus"], body["endedReason"]) == ("ended", "success")

    archived = httpx.post(f"{base}/archive")
    assert (
        archived.status_code == 200
        and archived.json()["experiment"]["lifecycleStatus"] == "archived"
    )
    assert httpx.post(f"{base}/archive").status_code == 409
    assert evidently.list_experiments(project=project)["experiments"] == []
    shown = httpx.get(
        f"{stack.url('frontdoor')}/projects/{project}/experiments?includeArchived=true"
    ).json()
    assert [x["name"] for x in shown["experiments"]] == ["e"]


def test_analysis_config_is_stored_on_the_experiment(
    stack: Stack, evidently: Any, project: str
) -> None:
    make_feature(evidently, project)
    make_experiment(evidently, project, "e")
    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/e"
    default = httpx.get(url).json()["experiment"]
    assert default["analysisConfig"]["method"] == "sequential"
    assert default["analysisConfig"]["confidenceLevel"] == 0.95
    assert default["stickyAssignment"] is True
    changed = httpx.patch(
        url,
        json={
            "analysisConfig": {"method": "ttest", "confidenceLevel": 0.9, "correction": "bh"},
            "stickyAssignment": False,
        },
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()["experiment"]
    assert body["analysisConfig"]["method"] == "ttest"
    assert body["analysisConfig"]["confidenceLevel"] == 0.9
    assert body["stickyAssignment"] is False
    invalid = httpx.patch(url, json={"analysisConfig": {"confidenceLevel": 1.5}})
    assert invalid.status_code == 400 and "confidenceLevel" in invalid.json()["message"]


def test_audit_log_lists_every_change(stack: Stack, evidently: Any, project: str) -> None:
    make_feature(evidently, project)
    evidently.update_feature(project=project, feature="f", description="changed")
    evidently.tag_resource(resourceArn=f"{ARN}:project/{project}/feature/f", tags={"a": "b"})
    history = httpx.get(
        f"{stack.url('frontdoor')}/history/{quote(f'{ARN}:project/{project}/feature/f', safe='')}"
    ).json()
    assert [e["type"] for e in history["events"]] == [
        "FeatureCreated",
        "FeatureUpdated",
        "TagsChanged",
    ]
    assert [e["resourceVersion"] for e in history["events"]] == [1, 2, 3]
    assert history["events"][1]["change"]["description"] == "changed"
    ghost = quote(f"{ARN}:project/{project}/feature/ghost", safe="")
    missing = httpx.get(f"{stack.url('frontdoor')}/history/{ghost}")
    assert missing.status_code == 404


def _snapshot(evidently: Any, project: str) -> dict[str, Any]:
    def clean(shape: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in shape.items() if k != "ResponseMetadata"}

    return {
        "project": clean(evidently.get_project(project=project)),
        "features": [
            clean(evidently.get_feature(project=project, feature=f["name"]))
            for f in evidently.list_features(project=project)["features"]
        ],
        "launches": clean(evidently.list_launches(project=project)),
        "experiments": clean(evidently.list_experiments(project=project)),
        "segments": clean(evidently.list_segments(maxResults=50)),
    }


def test_projections_rebuilt_after_a_restart_equal_those_before(
    stack: Stack, evidently: Any, project: str
) -> None:
    make_feature(evidently, project)
    make_feature(evidently, project, "g", "x", "y")
    evidently.update_feature(project=project, feature="g", removeVariations=["y"], description="g2")
    make_launch(evidently, project)
    evidently.start_launch(project=project, launch="l")
    make_experiment(evidently, project, "e")
    evidently.delete_feature(project=project, feature="g")
    before = _snapshot(evidently, project)
    stack.stop_service("command")
    stack.start_service("command")
    stack.wait_healthy("command")
    stack.wait_healthy("frontdoor")
    assert _snapshot(evidently, project) == before
