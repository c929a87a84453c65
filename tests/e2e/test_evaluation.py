"""EvaluateFeature and BatchEvaluateFeature through boto3: every rule and reason."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from infra.launch.stack import Stack
from shared import topics
from tests.e2e.helpers import make_experiment, make_feature, make_launch, now, propagated

pytestmark = pytest.mark.e2e


@pytest.fixture
def project(evidently: Any, unique: str) -> str:
    name = f"eval-{unique}"
    evidently.create_project(name=name)
    make_feature(evidently, name, "f", "control", "treatment", "other")
    return name


def ev(
    client: Any,
    project: str,
    entity: str,
    context: dict[str, Any] | None = None,
    feature: str = "f",
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"project": project, "feature": feature, "entityId": entity}
    if context is not None:
        kwargs["evaluationContext"] = json.dumps(context)
    return dict(client.evaluate_feature(**kwargs))


def test_default_and_overrides(stack: Stack, evidently: Any, project: str) -> None:
    assert ev(evidently, project, "anyone")["reason"] == "DEFAULT"
    evidently.update_feature(project=project, feature="f", entityOverrides={"vip": "other"})
    propagated(stack)
    got = ev(evidently, project, "vip")
    assert (got["variation"], got["reason"], got["value"]) == (
        "other",
        "ENTITY_OVERRIDES_MATCH",
        {"stringValue": "other"},
    )


def test_launch_rule_with_details(stack: Stack, evidently: Any, project: str) -> None:
    make_launch(
        evidently,
        project,
        scheduledSplitsConfig={
            "steps": [
                {"startTime": now() - timedelta(minutes=1), "groupWeights": {"g-treatment": 100000}}
            ]
        },
    )
    assert ev(evidently, project, "u1")["reason"] == "DEFAULT"  # not started yet
    evidently.start_launch(project=project, launch="l")
    propagated(stack)
    got = ev(evidently, project, "u1")
    assert (got["variation"], got["reason"]) == ("treatment", "LAUNCH_RULE_MATCH")
    assert json.loads(got["details"]) == {"launch": "l", "group": "g-treatment"}
    evidently.update_feature(project=project, feature="f", entityOverrides={"u1": "other"})
    propagated(stack)
    assert ev(evidently, project, "u1")["reason"] == "ENTITY_OVERRIDES_MATCH"
    evidently.stop_launch(project=project, launch="l")
    propagated(stack)
    assert ev(evidently, project, "u2")["reason"] == "DEFAULT"


def test_segment_overrides_follow_evaluation_order(
    stack: Stack, evidently: Any, project: str, unique: str
) -> None:
    evidently.create_segment(name=f"pro-{unique}", pattern=json.dumps({"plan": ["pro"]}))
    evidently.create_segment(name=f"us-{unique}", pattern=json.dumps({"geo": {"country": ["US"]}}))
    make_launch(
        evidently,
        project,
        scheduledSplitsConfig={
            "steps": [
                {
                    "startTime": now() - timedelta(minutes=1),
                    "groupWeights": {"g-control": 100000},
                    "segmentOverrides": [
                        {
                            "segment": f"us-{unique}",
                            "evaluationOrder": 2,
                            "weights": {"g-control": 100000},
                        },
                        {
                            "segment": f"pro-{unique}",
                            "evaluationOrder": 1,
                            "weights": {"g-treatment": 100000},
                        },
                    ],
                }
            ]
        },
    )
    evidently.start_launch(project=project, launch="l")
    propagated(stack)
    assert (
        ev(evidently, project, "a", {"plan": "pro", "geo": {"country": "US"}})["variation"]
        == "treatment"
    )
    assert ev(evidently, project, "a", {"geo": {"country": "US"}})["variation"] == "control"
    assert ev(evidently, project, "a", {"plan": "free"})["variation"] == "control"


def test_scheduled_step_comes_due(stack: Stack, evidently: Any, project: str) -> None:
    soon = now() + timedelta(seconds=2)
    make_launch(
        evidently,
        project,
        scheduledSplitsConfig={
            "steps": [
                {"startTime": now() - timedelta(minutes=1), "groupWeights": {"g-control": 100000}},
                {"startTime": soon, "groupWeights": {"g-treatment": 100000}},
            ]
        },
    )
    evidently.start_launch(project=project, launch="l")
    propagated(stack)
    assert ev(evidently, project, "x")["variation"] == "control"
    time.sleep(max(0.0, (soon - now()).total_seconds()) + 0.05)
    assert ev(evidently, project, "x")["variation"] == "treatment"


def test_experiment_rules(stack: Stack, evidently: Any, project: str, unique: str) -> None:
    segment = f"beta-{unique}"
    evidently.create_segment(name=segment, pattern=json.dumps({"beta": [True]}))
    make_experiment(evidently, project, "e", segment=segment)
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    propagated(stack)
    assert ev(evidently, project, "u", {"beta": False})["reason"] == "DEFAULT"
    got = ev(evidently, project, "u", {"beta": True})
    assert got["reason"] == "EXPERIMENT_RULE_MATCH"
    details = json.loads(got["details"])
    assert details["experiment"] == "e" and details["treatment"] in ("control", "treatment")
    split = Counter(
        json.loads(ev(evidently, project, f"user-{i}", {"beta": True})["details"])["treatment"]
        for i in range(300)
    )
    assert split["control"] > 90 and split["treatment"] > 90


def test_launch_remainder_falls_to_the_experiment(
    stack: Stack, evidently: Any, project: str
) -> None:
    make_launch(
        evidently,
        project,
        scheduledSplitsConfig={
            "steps": [
                {"startTime": now() - timedelta(minutes=1), "groupWeights": {"g-treatment": 50000}}
            ]
        },
    )
    make_experiment(evidently, project, "e")
    evidently.start_launch(project=project, launch="l")
    propagated(stack)
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    propagated(stack)
    reasons = Counter(ev(evidently, project, f"user-{i}")["reason"] for i in range(200))
    assert set(reasons) == {"LAUNCH_RULE_MATCH", "EXPERIMENT_RULE_MATCH"}


def test_sampling_rate_zero_and_default_variation_strategy(
    stack: Stack, evidently: Any, project: str
) -> None:
    make_experiment(evidently, project, "e", samplingRate=0)
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    propagated(stack)
    assert {ev(evidently, project, f"u{i}")["reason"] for i in range(50)} == {"DEFAULT"}
    evidently.update_experiment(project=project, experiment="e", samplingRate=100000)
    propagated(stack)
    assert ev(evidently, project, "u1")["reason"] == "EXPERIMENT_RULE_MATCH"
    evidently.update_feature(project=project, feature="f", evaluationStrategy="DEFAULT_VARIATION")
    propagated(stack)
    assert ev(evidently, project, "u1")["reason"] == "DEFAULT"


def test_declared_winner_reaches_everyone(stack: Stack, evidently: Any, project: str) -> None:
    make_experiment(evidently, project, "e", samplingRate=1000)
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    propagated(stack)
    httpx.post(
        f"{stack.url('frontdoor')}/projects/{project}/experiments/e/winner",
        json={"treatment": "treatment"},
    ).raise_for_status()
    propagated(stack)
    for i in range(30):
        got = ev(evidently, project, f"u{i}")
        assert (got["variation"], got["reason"]) == ("treatment", "EXPERIMENT_RULE_MATCH")
        assert json.loads(got["details"])["winnerDeclared"] is True


def test_sticky_assignment_keeps_treatments_and_survives_a_restart(
    stack: Stack, evidently: Any, project: str
) -> None:
    make_experiment(evidently, project, "e")
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    propagated(stack)
    first = {f"u{i}": ev(evidently, project, f"u{i}")["variation"] for i in range(60)}
    assert set(first.values()) == {"control", "treatment"}
    evidently.update_experiment(
        project=project,
        experiment="e",
        onlineAbConfig={"treatmentWeights": {"control": 0, "treatment": 100000}},
    )
    propagated(stack)
    assert {f"u{i}": ev(evidently, project, f"u{i}")["variation"] for i in range(60)} == first
    assert ev(evidently, project, "newcomer")["variation"] == "treatment"

    time.sleep(0.3)  # the batched writer persists every 100 ms
    stack.stop_service("evaluation")
    stack.start_service("evaluation")
    stack.wait_healthy("evaluation")
    assert {f"u{i}": ev(evidently, project, f"u{i}")["variation"] for i in range(60)} == first


def test_sticky_assignment_can_be_switched_off(stack: Stack, evidently: Any, project: str) -> None:
    make_experiment(evidently, project, "e")
    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/e"
    httpx.patch(url, json={"stickyAssignment": False}).raise_for_status()
    propagated(stack)
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    propagated(stack)
    for i in range(20):
        ev(evidently, project, f"u{i}")
    evidently.update_experiment(
        project=project,
        experiment="e",
        onlineAbConfig={"treatmentWeights": {"control": 0, "treatment": 100000}},
    )
    propagated(stack)
    assert {ev(evidently, project, f"u{i}")["variation"] for i in range(20)} == {"treatment"}


def test_batch_evaluation_isolates_bad_requests(
    stack: Stack, evidently: Any, unvalidated: Any, project: str
) -> None:
    evidently.update_feature(project=project, feature="f", entityOverrides={"vip": "other"})
    propagated(stack)
    results = unvalidated.batch_evaluate_feature(
        project=project,
        requests=[
            {"feature": "f", "entityId": "vip"},
            {"feature": "ghost", "entityId": "u"},
            {"feature": "f", "entityId": "u", "evaluationContext": "[1]"},
            {"feature": "f", "entityId": "plain"},
        ],
    )["results"]
    assert [r["reason"] for r in results] == [
        "ENTITY_OVERRIDES_MATCH",
        "ERROR",
        "ERROR",
        "DEFAULT",
    ]
    assert json.loads(results[1]["details"])["error"]["code"] == "ResourceNotFoundException"
    assert json.loads(results[2]["details"])["error"]["code"] == "ValidationException"
    assert results[0]["entityId"] == "vip" and results[0]["feature"] == "f"
    with pytest.raises(unvalidated.exceptions.ValidationException, match="requests"):
        unvalidated.batch_evaluate_feature(
            project=project, requests=[{"feature": "f", "entityId": "u"}] * 21
        )


@pytest.mark.parametrize(
    "bad",
    [
        {"feature": "f", "entityId": ""},
        {"feature": "f", "entityId": "x" * 513},
        {"entityId": "u"},
        {"feature": "f", "entityId": 7},
    ],
    ids=["empty-entity", "long-entity", "no-feature", "numeric-entity"],
)
def test_a_batch_item_that_breaks_the_model_fails_the_request(
    unvalidated: Any, project: str, bad: dict[str, Any]
) -> None:
    """BatchEvaluateFeature: the model's constraints make the request invalid (400);
    per-item errors are for what only the server knows, such as an unknown feature."""
    with pytest.raises(unvalidated.exceptions.ValidationException, match="requests.2.member"):
        unvalidated.batch_evaluate_feature(
            project=project, requests=[{"feature": "f", "entityId": "u"}, bad]
        )


def test_batch_evaluation_of_an_unknown_project_is_not_found(evidently: Any, unique: str) -> None:
    with pytest.raises(evidently.exceptions.ResourceNotFoundException, match="project"):
        evidently.batch_evaluate_feature(
            project=f"ghost-{unique}", requests=[{"feature": "f", "entityId": "u"}]
        )


def test_evaluation_errors(evidently: Any, unvalidated: Any, project: str, unique: str) -> None:
    with pytest.raises(evidently.exceptions.ResourceNotFoundException, match="feature"):
        ev(evidently, project, "u", feature="ghost")
    with pytest.raises(evidently.exceptions.ResourceNotFoundException, match="project"):
        evidently.evaluate_feature(project=f"ghost-{unique}", feature="f", entityId="u")
    with pytest.raises(evidently.exceptions.ValidationException, match="evaluationContext"):
        evidently.evaluate_feature(
            project=project, feature="f", entityId="u", evaluationContext="{no"
        )
    with pytest.raises(unvalidated.exceptions.ValidationException, match="entityId"):
        unvalidated.evaluate_feature(project=project, feature="f", entityId="x" * 513)
    arn = f"arn:aws:evidently:us-east-1:000000000000:project/{project}"
    assert evidently.evaluate_feature(project=arn, feature="f", entityId="u")["reason"] == "DEFAULT"


async def _assignments_for(
    bootstrap: str, entity: str, timeout: float = 20.0
) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = [
            TopicPartition(topics.ASSIGNMENTS, p)
            for p in consumer.partitions_for_topic(topics.ASSIGNMENTS)
            or (await _partitions(bootstrap))
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning()
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not found:
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                for m in messages:
                    body = orjson.loads(m.value)
                    for one in body if isinstance(body, list) else [body]:
                        if one["entityId"] == entity:
                            # Batched per partition: the record must sit in the entity's
                            # partition to meet its observations.
                            assert m.partition == topics.entity_partition(entity, len(partitions))
                            found.append(one)
        return found
    finally:
        await consumer.stop()


async def _partitions(bootstrap: str) -> list[int]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [described] = await admin.describe_topics([topics.ASSIGNMENTS])
        return [p["partition"] for p in described["partitions"]]
    finally:
        await admin.close()


def test_assignment_events_reach_kafka(
    stack: Stack, evidently: Any, project: str, unique: str
) -> None:
    make_experiment(evidently, project, "e")
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    propagated(stack)
    entity = f"tracked-{unique}"
    got = ev(evidently, project, entity)
    events = asyncio.run(_assignments_for(stack.infrastructure.kafka_bootstrap_servers, entity))
    assert len(events) == 1
    event = events[0]
    assert (event["project"], event["feature"], event["kind"], event["name"]) == (
        project,
        "f",
        "experiment",
        "e",
    )
    assert event["variation"] == got["variation"]
    assert event["treatment"] == json.loads(got["details"])["treatment"]
    assert event["requestId"]


def test_configuration_changes_propagate(evidently: Any, project: str) -> None:
    """200 UpdateFeature calls, each visible to EvaluateFeature; the figures go to make bench."""
    delays = []
    for i in range(200):
        target = ("control", "treatment")[i % 2]
        started = time.perf_counter()
        evidently.update_feature(project=project, feature="f", defaultVariation=target)
        while ev(evidently, project, "probe")["variation"] != target:
            assert time.perf_counter() - started < 10, f"change {i} never became visible"
        delays.append(time.perf_counter() - started)
    delays.sort()
    print(
        f"propagation over 200 changes: p50 {statistics.median(delays) * 1000:.1f} ms,"
        f" p99 {delays[197] * 1000:.1f} ms"
    )


def _metric(text: str, name: str, **labels: str) -> float:
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(w in line for w in wanted):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_evaluation_edge_carries_request_ids_metrics_and_errors(stack: Stack, project: str) -> None:
    """The evaluation routes bypass Starlette (fastpath): what its layers did must still hold."""
    base = stack.url("evaluation")
    before = httpx.get(f"{base}/metrics").text
    r = httpx.post(
        f"{base}/projects/{project}/evaluations/f",
        json={"entityId": "edge"},
        headers={"x-request-id": "edge-rid-1"},
    )
    assert r.status_code == 200
    assert r.headers["x-amzn-requestid"] == "edge-rid-1"
    assert r.headers["content-type"] == "application/json"
    assert r.json()["reason"] == "DEFAULT"
    batch = httpx.post(
        f"{base}/projects/{project}/evaluations",
        json={"requests": [{"feature": "f", "entityId": "a"}, {"feature": "f", "entityId": "b"}]},
    )
    assert batch.status_code == 200 and batch.headers["x-amzn-requestid"]
    assert [x["entityId"] for x in batch.json()["results"]] == ["a", "b"]

    bad = httpx.post(f"{base}/projects/{project}/evaluations/f", content=b"{not json")
    assert bad.status_code == 400
    assert bad.headers["x-amzn-errortype"] == "ValidationException"
    assert "body" in bad.json()["message"]
    too_many = httpx.post(
        f"{base}/projects/{project}/evaluations",
        json={"requests": [{"feature": "f", "entityId": str(i)} for i in range(21)]},
    )
    assert too_many.status_code == 400 and "requests" in too_many.json()["message"]
    wrong_method = httpx.get(f"{base}/projects/{project}/evaluations/f")
    assert wrong_method.headers["x-amzn-errortype"] == "UnknownOperationException"

    after = httpx.get(f"{base}/metrics").text
    ops = "verdict_http_requests_total"
    for operation, status, count in (
        ("EvaluateFeature", "200", 1),
        ("EvaluateFeature", "400", 1),
        ("BatchEvaluateFeature", "200", 1),
        ("BatchEvaluateFeature", "400", 1),
    ):
        grew = _metric(after, ops, operation=operation, status=status) - _metric(
            before, ops, operation=operation, status=status
        )
        assert grew == count, (operation, status)
    evaluations = "verdict_evaluations_total"
    assert _metric(after, evaluations, project=project, reason="DEFAULT") == 3
    assert "verdict_http_request_duration_seconds_bucket" in after
