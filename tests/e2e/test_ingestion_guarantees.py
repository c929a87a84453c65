"""PutProjectEvents' guarantees, on the running stack (README, "Ingestion guarantees").

- A retried call (botocore's ``amz-sdk-invocation-id``, or ``Idempotency-Key``) gets
  the same event ids, and the processor counts each event once.
- An event past a limit fails alone; the call's other events are accepted.
- With the broker away, a call answers within the publish timeout with its events
  failed, and once the broker is back a full call is accepted within 5 s; retried,
  every event counts exactly once, including those the broker took late.

Each counting test gives every entity exactly one event of value 1 after its
exposure, so the aggregates are exact: n, the sum and the conversions all equal
the number of entities, and a duplicate or a loss would show in one of them.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ReadTimeoutError

from infra.launch.infrastructure import Infrastructure
from infra.launch.kafka import EmbeddedKafka, start_kafka
from infra.launch.stack import SERVICE_ORDER, Stack
from shared.config import Settings
from shared.domain.limits import MAX_DATA_BYTES
from tests.conftest import JARS
from tests.e2e.helpers import make_feature, now, propagated

pytestmark = pytest.mark.e2e

CLICKS = {
    "metricDefinition": {"name": "clicks", "entityIdKey": "user.id", "valueKey": "details.n"},
    "desiredChange": "INCREASE",
}
# Matches the publisher's message for an event the broker did not take in time.
UNACKNOWLEDGED = "the broker did not acknowledge the event within"


def client(stack: Stack, **config: Any) -> Any:
    options: dict[str, Any] = {"inject_host_prefix": False, "retries": {"total_max_attempts": 1}}
    return boto3.client(
        "evidently",
        endpoint_url=stack.url("frontdoor"),
        region_name="us-east-1",
        config=Config(**(options | config)),
    )


class Recorder:
    """Every request a client sends, as sent: botocore's ``before-send`` event."""

    def __init__(self, evidently: Any) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        evidently.meta.events.register("before-send.evidently.PutProjectEvents", self.record)

    def record(self, request: Any, **_: Any) -> None:
        headers = {
            k: v.decode() if isinstance(v, bytes) else v
            for k, v in request.headers.items()
            if k.lower() != "content-length"
        }
        body = request.body.encode() if isinstance(request.body, str) else request.body
        self.requests.append((request.url, headers, body))

    def replay(self, index: int = -1) -> dict[str, Any]:
        """The recorded request again, byte for byte: a retry whose first answer was lost."""
        url, headers, body = self.requests[index]
        response = httpx.post(url, headers=headers, content=body, timeout=30)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result


def running_experiment(evidently: Any, stack: Stack, project: str) -> None:
    evidently.create_project(name=project)
    make_feature(evidently, project)
    evidently.create_experiment(
        project=project,
        name="e",
        treatments=[
            {"name": "control", "feature": "f", "variation": "control"},
            {"name": "treatment", "feature": "f", "variation": "treatment"},
        ],
        metricGoals=[CLICKS],
    )
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    propagated(stack)


def aggregates(stack: Stack, project: str) -> tuple[int, float, int]:
    """(n, sum, conversions) of the clicks metric over both treatments."""
    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/e/aggregates"
    arms = httpx.get(url, timeout=10).json()["metrics"]["clicks"].values()
    return (
        sum(a["n"] for a in arms),
        sum(a["mean"] * a["n"] for a in arms if a["n"]),
        sum(a["conversions"] for a in arms),
    )


def wait_for(
    check: Callable[[], tuple[int, float, int]], want: tuple[int, float, int], timeout: float
) -> tuple[int, float, int]:
    deadline = time.monotonic() + timeout
    got = check()
    while not _same(got, want) and time.monotonic() < deadline:
        time.sleep(0.25)
        got = check()
    return got


def _same(got: tuple[int, float, int], want: tuple[int, float, int]) -> bool:
    return got[0] == want[0] and got[1] == pytest.approx(want[1], rel=1e-12) and got[2] == want[2]


def expose(evidently: Any, stack: Stack, project: str, entities: list[str]) -> None:
    """Evaluate each entity once, and wait until the processor has every exposure."""
    for i in range(0, len(entities), 20):
        evidently.batch_evaluate_feature(
            project=project,
            requests=[{"feature": "f", "entityId": e} for e in entities[i : i + 20]],
        )
    exposed = wait_for(lambda: aggregates(stack, project), (len(entities), 0.0, 0), 60)
    assert exposed == (len(entities), 0.0, 0)


def click(entity: str) -> dict[str, Any]:
    data = {"user": {"id": entity}, "details": {"n": 1}}
    return {"timestamp": now(), "type": "aws.evidently.custom", "data": json.dumps(data)}


def assert_counted_once(stack: Stack, project: str, entities: list[str]) -> None:
    want = (len(entities), float(len(entities)), len(entities))
    got = wait_for(lambda: aggregates(stack, project), want, 90)
    assert _same(got, want), f"(n, sum, conversions) {got}, want {want}"
    # A duplicate that arrives late would show by now.
    time.sleep(1.5)
    got = aggregates(stack, project)
    assert _same(got, want), f"(n, sum, conversions) {got}, want {want}"


def ids(response: dict[str, Any]) -> list[str]:
    return [r["eventId"] for r in response["eventResults"]]


def test_a_retried_call_gets_the_same_ids_and_counts_once(
    stack: Stack, evidently: Any, unique: str
) -> None:
    project = f"retried-{unique}"
    running_experiment(evidently, stack, project)
    entities = [f"user-{i}" for i in range(12)]
    expose(evidently, stack, project, entities)
    sender = client(stack)
    recorder = Recorder(sender)
    first = sender.put_project_events(project=project, events=[click(e) for e in entities])
    assert first["failedEventCount"] == 0
    # The same request twice more, as botocore retries it after a lost response: the
    # same amz-sdk-invocation-id, the same events, the same ids.
    again = [recorder.replay(), recorder.replay()]
    assert [ids(r) for r in again] == [ids(first)] * 2
    assert all(r["failedEventCount"] == 0 for r in again)
    # A new call with the same event is a new event: user-0 has two in all.
    other = sender.put_project_events(project=project, events=[click(entities[0])])
    assert ids(other)[0] not in ids(first)
    want = (len(entities), float(len(entities) + 1), len(entities))
    got = wait_for(lambda: aggregates(stack, project), want, 90)
    assert _same(got, want), f"(n, sum, conversions) {got}, want {want}"
    time.sleep(1.5)  # a duplicate that arrives late would show by now
    assert _same(aggregates(stack, project), want)


def test_a_retry_after_a_client_timeout_counts_once(
    stack: Stack, evidently: Any, unique: str
) -> None:
    """A read timeout shorter than the producer's linger: every attempt reaches the
    server and is published, and botocore gives up on each and retries it."""
    project = f"timeout-{unique}"
    running_experiment(evidently, stack, project)
    entities = [f"user-{i}" for i in range(10)]
    expose(evidently, stack, project, entities)
    impatient = client(
        stack, read_timeout=0.001, retries={"total_max_attempts": 3, "mode": "standard"}
    )
    recorder = Recorder(impatient)
    with pytest.raises(ReadTimeoutError):
        impatient.put_project_events(project=project, events=[click(e) for e in entities])
    # botocore's own retries, each after its read timed out: attempts 1, 2 and 3.
    attempts = [headers["amz-sdk-request"] for _, headers, _ in recorder.requests]
    assert [a.split("attempt=")[1].split(";")[0] for a in attempts] == ["1", "2", "3"]
    assert len({headers["amz-sdk-invocation-id"] for _, headers, _ in recorder.requests}) == 1
    assert_counted_once(stack, project, entities)


def test_an_idempotency_key_names_a_call(stack: Stack, evidently: Any, unique: str) -> None:
    project = f"keyed-{unique}"
    evidently.create_project(name=project)
    url = f"{stack.url('frontdoor')}/events/projects/{project}"
    body = {
        "events": [
            {"timestamp": time.time(), "type": "aws.evidently.custom", "data": "{}"},
            {"timestamp": time.time(), "type": "aws.evidently.custom", "data": "{}"},
        ]
    }

    def send(**headers: str) -> list[str]:
        response = httpx.post(url, json=body, headers=headers, timeout=30)
        assert response.status_code == 200, response.text
        assert response.json()["failedEventCount"] == 0
        return ids(response.json())

    key = str(uuid.uuid4())
    first = send(**{"Idempotency-Key": key})
    assert send(**{"Idempotency-Key": key}) == first
    assert len(set(first)) == 2
    assert set(send(**{"Idempotency-Key": key + "-2"})).isdisjoint(first)
    # The client's own key wins over botocore's invocation id.
    assert send(**{"Idempotency-Key": key, "amz-sdk-invocation-id": "x"}) == first
    assert send(**{"amz-sdk-invocation-id": key}) == first
    # Without either, every event is new.
    assert set(send()).isdisjoint(send())


def nested(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def test_an_event_past_a_limit_fails_alone(stack: Stack, evidently: Any, unique: str) -> None:
    project = f"limits-{unique}"
    evidently.create_project(name=project)
    huge = json.dumps({"user": {"id": "u"}, "details": {"n": 1e200}})

    def put(*data: str) -> list[tuple[str | None, str | None]]:
        events = [{"timestamp": now(), "type": "aws.evidently.custom", "data": d} for d in data]
        results = evidently.put_project_events(project=project, events=events)["eventResults"]
        return [(r.get("errorCode"), r.get("errorMessage")) for r in results]

    # No experiment takes details.n yet: a value no aggregate sees is not judged.
    assert put(huge) == [(None, None)]
    make_feature(evidently, project)
    evidently.create_experiment(
        project=project,
        name="e",
        treatments=[{"name": "control", "feature": "f", "variation": "control"}],
        metricGoals=[CLICKS],
    )
    propagated(stack)

    def event(entity: object = "u", value: object = 1, **more: object) -> str:
        return json.dumps({"user": {"id": entity}, "details": {"n": value}, **more})

    cases = {
        "good": (event(), None),
        "deep-260": (nested(260), "more than 64 levels deep"),
        "deep-65": (nested(65), "more than 64 levels deep"),
        "deep-64": (nested(64), None),
        "large": (json.dumps({"pad": "x" * MAX_DATA_BYTES}), f"larger than {MAX_DATA_BYTES}"),
        "value": (huge, "metric clicks: value 1e+200 is outside ±1e+150"),
        "negative": (event(value=-1e151), "outside ±1e+150"),
        "value-at-limit": (event(value=1e150), None),
        "entity-513": (event("u" * 513), "metric clicks: entity id of 513 characters"),
        "entity-512": (event("u" * 512), None),
        "top-level-entity-513": (event(entityId="e" * 513), "entity id of 513 characters"),
        "untaken-value": (event(other=1e300), None),
    }
    results = dict(zip(cases, put(*(d for d, _ in cases.values())), strict=True))
    for name, (_, problem) in cases.items():
        code, message = results[name]
        if problem is None:
            assert (code, message) == (None, None), name
        else:
            assert code == "ValidationException", name
            assert message is not None and problem in message, (name, message)


def embedded_kafka(infrastructure: Infrastructure) -> EmbeddedKafka | None:
    """The session's embedded broker, if it started one."""
    return infrastructure.kafka


def restart_kafka(infrastructure: Infrastructure, broker: EmbeddedKafka) -> EmbeddedKafka:
    """The same broker again: its log directory and its port (the services know it)."""
    again = start_kafka(broker.root, JARS, Settings.from_env().topic_partitions)
    infrastructure.stoppers[infrastructure.stoppers.index(broker.stop)] = again.stop
    infrastructure.kafka = again
    assert again.port == broker.port
    return again


def revive(stack: Stack) -> None:
    """Start again what the outage ended, so the tests after this one have a stack. The
    processor ends itself (exit 70) when a batch cannot finish without the broker."""
    for name in SERVICE_ORDER:
        service = stack.services.get(name)
        if service is None or service.process.poll() is not None:
            stack.start_service(name)
    for name in SERVICE_ORDER:
        stack.wait_healthy(name)


def test_a_broker_outage_is_answered_within_the_bound_and_nothing_counts_twice(
    stack: Stack, evidently: Any, unique: str
) -> None:
    broker = embedded_kafka(stack.infrastructure)
    if broker is None:
        pytest.skip("needs the embedded broker, to stop and start it")
    bound = stack.settings.publish_timeout_seconds
    project = f"outage-{unique}"
    running_experiment(evidently, stack, project)
    full = [f"full-{i}" for i in range(50)]
    small = [f"small-{i}" for i in range(10)]
    later = [f"later-{i}" for i in range(10)]
    expose(evidently, stack, project, full + small + later)
    sender = client(stack)
    recorder = Recorder(sender)

    broker.stop()
    try:
        for entities in (full, small):
            started = time.monotonic()
            out = sender.put_project_events(project=project, events=[click(e) for e in entities])
            took = time.monotonic() - started
            print(f"broker away: {len(entities)} events answered in {took:.2f} s")
            assert took <= bound + 1, f"{took:.1f} s"
            assert out["failedEventCount"] == len(entities)
            for result in out["eventResults"]:
                assert result["errorCode"] == "ServiceUnavailableException"
                assert f"{UNACKNOWLEDGED} {bound:g} s" in result["errorMessage"]
    finally:
        broker = restart_kafka(stack.infrastructure, broker)
    back = time.monotonic()
    try:
        # Retried as botocore would: the same requests, so the same event ids. The
        # producer also delivers its copies from before, late: the ids meet again.
        retried = recorder.replay(0)
        assert retried["failedEventCount"] == 0, retried["eventResults"][:3]
        recovered = time.monotonic() - back
        print(f"broker back: a full call accepted after {recovered:.2f} s")
        assert recovered <= 5.0, f"a full call accepted only after {recovered:.1f} s"
        assert recorder.replay(1)["failedEventCount"] == 0
        out = sender.put_project_events(project=project, events=[click(e) for e in later])
        assert out["failedEventCount"] == 0
        evaluation = stack.services["evaluation"].process
        assert evaluation.poll() is None, "the evaluation service must ride out the outage"
    finally:
        revive(stack)
    assert_counted_once(stack, project, full + small + later)
