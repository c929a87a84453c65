"""Events in through boto3 and a direct Kafka producer; exact per-entity aggregates out.

Duplicates are injected and the processor is SIGKILLed mid-stream; the
aggregates must still equal a numpy recomputation from the raw events.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from infra.launch.stack import Stack
from shared import topics
from tests.e2e.helpers import make_feature, now, propagated

pytestmark = pytest.mark.e2e

METRICS = [
    {
        "metricDefinition": {
            "name": "revenue",
            "entityIdKey": "user.id",
            "valueKey": "details.revenue",
            "eventPattern": json.dumps({"kind": ["purchase"]}),
        },
        "desiredChange": "INCREASE",
    },
    {
        "metricDefinition": {
            "name": "clicks",
            "entityIdKey": "$.user.id",
            "valueKey": "details.clicks",
        },
        "desiredChange": "INCREASE",
    },
]


def create_experiment(evidently: Any, project: str, metrics: list[dict[str, Any]]) -> None:
    """A project, feature "f" and experiment "e" (control and treatment), not started."""
    evidently.create_project(name=project)
    make_feature(evidently, project)
    evidently.create_experiment(
        project=project,
        name="e",
        treatments=[
            {"name": "control", "feature": "f", "variation": "control"},
            {"name": "treatment", "feature": "f", "variation": "treatment"},
        ],
        metricGoals=metrics,
    )


def payload(entity: str, kind: str, revenue: float | None, clicks: float | None) -> dict[str, Any]:
    details: dict[str, Any] = {}
    if revenue is not None:
        details["revenue"] = revenue
    if clicks is not None:
        details["clicks"] = clicks
    return {"user": {"id": entity}, "kind": kind, "details": details}


class Ledger:
    """What was sent, for the numpy recomputation."""

    def __init__(self) -> None:
        self.events: dict[
            str, tuple[str, float, dict[str, Any]]
        ] = {}  # event id -> (entity, ts, data)

    def add(self, event_id: str, entity: str, ts: float, data: dict[str, Any]) -> None:
        self.events[event_id] = (entity, ts, data)


def expected(
    ledger: Ledger, exposures: dict[str, tuple[str, float]], metric: str, treatment: str
) -> dict[str, float]:
    x: dict[str, float] = defaultdict(float)
    y: dict[str, float] = defaultdict(float)
    for entity, ts, data in ledger.events.values():
        if entity not in exposures:
            continue
        if metric == "revenue":
            if data.get("kind") != "purchase" or "revenue" not in data["details"]:
                continue
            value = data["details"]["revenue"]
        else:
            if "clicks" not in data["details"]:
                continue
            value = data["details"]["clicks"]
        if ts < int(exposures[entity][1]):
            x[entity] += value
        else:
            y[entity] += value
    members = [e for e, (t, _) in exposures.items() if t == treatment]
    xs = np.array([x[e] for e in members])
    ys = np.array([y[e] for e in members])
    return {
        "n": len(members),
        "mean": float(ys.mean()),
        "variance": float(ys.var(ddof=1)),
        "conversions": int((ys > 0).sum()),
        "covariateMean": float(xs.mean()),
        "covariateVariance": float(xs.var(ddof=1)),
        "covariance": float(np.cov(xs, ys, ddof=1)[0, 1]),
    }


async def changelog_rows(
    bootstrap: str, experiment_key: str, partitions: int = 4
) -> dict[str, list[tuple[int, Any]]]:
    """Entity id -> its rows in the processor's changelog, in order, with their partitions."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    topic = topics.changelog("entities")
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    rows: dict[str, list[tuple[int, Any]]] = defaultdict(list)
    try:
        parts = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(parts)
        await consumer.seek_to_beginning()
        end = await consumer.end_offsets(parts)
        done = {tp for tp, o in end.items() if o == 0}
        while len(done) < len(parts):
            for tp, messages in (await consumer.getmany(timeout_ms=1000)).items():
                for m in messages:
                    key = orjson.loads(m.key)
                    if key.startswith(experiment_key + "|"):
                        value = orjson.loads(m.value) if m.value else None
                        rows[key.split("|", 1)[1]].append((tp.partition, value))
                    if m.offset + 1 >= end[tp]:
                        done.add(tp)
    finally:
        await consumer.stop()
    return rows


async def diagnose(
    bootstrap: str, experiment_key: str, ledger: Ledger, exposures: dict[str, tuple[str, float]]
) -> list[str]:
    """On a mismatch, say which entity rows of the processor's table differ from the ledger."""
    rows = {
        entity: history[-1][1]
        for entity, history in (await changelog_rows(bootstrap, experiment_key)).items()
    }
    problems = []
    for entity, (treatment, _) in exposures.items():
        row = rows.get(entity)
        if row is None or row.get("t") != treatment:
            problems.append(f"{entity}: row {row and row.get('t')} != {treatment}")
            continue
        sent = sum(
            1 for e, _, d in ledger.events.values() if e == entity and "clicks" in d["details"]
        )
        have = len(row["e"].get("clicks", []))
        if sent != have:
            problems.append(f"{entity}: {have} clicks events in the table, {sent} sent")
    return problems


async def produce_direct(bootstrap: str, records: list[tuple[bytes, bytes]]) -> None:
    await produce_to(bootstrap, [(topics.EVENTS, None, value, key) for key, value in records])


def test_exact_aggregates_with_duplicates_and_a_processor_kill(
    stack: Stack, evidently: Any, unique: str
) -> None:
    rng = random.Random(7)
    project = f"ingest-{unique}"
    create_experiment(evidently, project, METRICS)
    ledger = Ledger()
    entities = [f"user-{i}" for i in range(160)]
    # Pre-exposure history (CUPED covariates), sent before the experiment even starts.
    before = datetime.now(UTC) - timedelta(hours=2)
    pre = []
    for entity in entities[:120]:
        data = payload(entity, "purchase", round(rng.uniform(1, 50), 2), rng.randint(0, 5))
        pre.append({"timestamp": before, "type": "aws.evidently.custom", "data": json.dumps(data)})
    for i in range(0, len(pre), 50):
        out = evidently.put_project_events(project=project, events=pre[i : i + 50])
        assert out["failedEventCount"] == 0
        for event, result in zip(pre[i : i + 50], out["eventResults"], strict=True):
            data = json.loads(event["data"])
            ledger.add(result["eventId"], data["user"]["id"], before.timestamp(), data)

    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )

    propagated(stack)
    exposures: dict[str, tuple[str, float]] = {}
    exposed = entities[:140]  # the last 20 are never exposed: their events must not count
    for i in range(0, len(exposed), 20):
        sent_at = time.time()
        results = evidently.batch_evaluate_feature(
            project=project, requests=[{"feature": "f", "entityId": e} for e in exposed[i : i + 20]]
        )["results"]
        for r in results:
            exposures[r["entityId"]] = (json.loads(r["details"])["treatment"], sent_at)
    # The assignment's own timestamp is the evaluation service's clock; every
    # post event below is stamped later than any exposure.
    time.sleep(0.05)

    bootstrap = stack.infrastructure.kafka_bootstrap_servers
    direct: list[tuple[bytes, bytes]] = []

    def post_event(entity: str) -> tuple[str, float, dict[str, Any]]:
        kind = rng.choice(["purchase", "purchase", "view"])
        data = payload(
            entity,
            kind,
            round(rng.uniform(0, 120), 2) if rng.random() < 0.8 else None,
            rng.randint(0, 9) if rng.random() < 0.7 else None,
        )
        return kind, time.time() + rng.uniform(0, 3), data

    def send_half_via_boto3(n: int) -> None:
        batch = []
        for _ in range(n):
            entity = rng.choice(entities)
            _, ts, data = post_event(entity)
            batch.append((entity, ts, data))
            if len(batch) == 50:
                flush(batch)
                batch = []
        if batch:
            flush(batch)

    def flush(batch: list[tuple[str, float, dict[str, Any]]]) -> None:
        out = evidently.put_project_events(
            project=project,
            events=[
                {
                    "timestamp": datetime.fromtimestamp(ts, UTC),
                    "type": "aws.evidently.custom",
                    "data": json.dumps(data),
                }
                for _, ts, data in batch
            ],
        )
        assert out["failedEventCount"] == 0
        for (entity, ts, data), result in zip(batch, out["eventResults"], strict=True):
            # botocore puts whole seconds on the wire: the server sees floor(ts).
            ledger.add(result["eventId"], entity, float(int(ts)), data)

    for _ in range(400):
        entity = rng.choice(entities)
        _, ts, data = post_event(entity)
        event_id = str(uuid.uuid4())
        record = orjson.dumps(
            {
                "eventId": event_id,
                "project": project,
                "type": "aws.evidently.custom",
                "timestamp": ts,
                "data": data,
            }
        )
        ledger.add(event_id, entity, ts, data)
        # Direct producers may key as they like; the processor re-keys by entity.
        direct.append((uuid.uuid4().bytes, record))
    duplicates = rng.sample(direct, 120)  # redeliveries of the same records

    killer = threading.Timer(1.0, stack.kill_service, args=("processor",))
    killer.start()
    send_half_via_boto3(300)
    asyncio.run(produce_direct(bootstrap, direct[:200] + duplicates[:60]))
    killer.join()
    send_half_via_boto3(300)
    asyncio.run(produce_direct(bootstrap, direct[200:] + duplicates[60:]))
    stack.start_service("processor")
    stack.wait_healthy("processor")

    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/e/aggregates"
    want = {
        (m, t): expected(ledger, exposures, m, t)
        for m in ("revenue", "clicks")
        for t in ("control", "treatment")
    }

    def mismatches(got: dict[str, Any]) -> list[tuple[str, str, str]]:
        """Every figure asserted below that differs from the expected one."""
        wrong = []
        for (metric, treatment), w in want.items():
            g = got["metrics"][metric][treatment]
            for stat in ("n", "conversions"):
                if g[stat] != w[stat]:
                    wrong.append((metric, treatment, stat))
            for stat in ("mean", "variance", "covariateMean", "covariateVariance", "covariance"):
                if g[stat] != pytest.approx(w[stat], rel=1e-9, abs=1e-9):
                    wrong.append((metric, treatment, stat))
            last = g["series"][-1]
            if last["n"] != w["n"] or last["mean"] != pytest.approx(w["mean"], rel=1e-9):
                wrong.append((metric, treatment, "series"))
        return wrong

    # Wait for every figure asserted, not a subset: cells of late and pre-exposure
    # events can still be arriving when n and the mean already agree.
    deadline = time.monotonic() + 150
    got: dict[str, Any] = httpx.get(url, timeout=10).json()
    while mismatches(got) and time.monotonic() < deadline:
        time.sleep(0.5)
        got = httpx.get(url, timeout=10).json()
    wrong = mismatches(got)
    if wrong:
        # Which entity rows of the processor's table differ from the ledger.
        diagnosis = asyncio.run(
            diagnose(bootstrap, got.get("experimentKey", ""), ledger, exposures)
        )
        assert not diagnosis, diagnosis[:10]
    assert wrong == []


async def produce_to(
    bootstrap: str, records: list[tuple[str, int | None, bytes, bytes | None]]
) -> None:
    """(topic, partition or None, value, key or None) records, as a producer of one's own."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for topic, partition, value, key in records:
            await producer.send(topic, value, key=key, partition=partition)
        await producer.flush()
    finally:
        await producer.stop()


def test_records_in_the_wrong_partition_are_moved_and_counted_once(
    stack: Stack, evidently: Any, unique: str
) -> None:
    """A producer of one's own may miss the entity partition; the join moves such
    records to where the entity's row is, so no entity gets a second row."""
    project = f"moved-{unique}"
    create_experiment(evidently, project, [METRICS[1]])
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    propagated(stack, ("evaluation", "results"))
    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/e/aggregates"
    key = httpx.get(url, timeout=10).json()["experimentKey"]
    partitions = stack.settings.topic_partitions
    exposed_at = time.time() - 30
    records: list[tuple[str, int | None, bytes, bytes | None]] = []
    for i in range(8):
        entity = f"user-{i}"
        right = topics.entity_partition(entity, partitions)
        # Even entities: both records in a wrong partition; odd: the exposure only.
        wrong = (right + 1) % partitions
        assignment = {
            "entityId": entity,
            "kind": "experiment",
            "experimentKey": key,
            "treatment": ("control", "treatment")[i % 2],
            "timestamp": exposed_at,
        }
        observation = {"k": key, "m": "clicks", "e": entity, "v": 2.0 + i, "ts": exposed_at + 5}
        one = orjson.dumps([{**observation, "id": i}])
        records.append((topics.ASSIGNMENTS, wrong, orjson.dumps(assignment), None))
        records.append((topics.OBSERVATIONS, wrong if i % 2 == 0 else right, one, None))
        # The same observation again, in the right partition: counted once in all.
        records.append((topics.OBSERVATIONS, right, one, None))
    asyncio.run(produce_to(stack.infrastructure.kafka_bootstrap_servers, records))

    want = {
        "control": [2.0 + i for i in range(0, 8, 2)],
        "treatment": [2.0 + i for i in range(1, 8, 2)],
    }
    deadline = time.monotonic() + 60
    got: dict[str, Any] = {}
    while time.monotonic() < deadline:
        got = httpx.get(url, timeout=10).json()["metrics"]["clicks"]
        if all(got[t]["n"] == len(v) for t, v in want.items()):
            break
        time.sleep(0.25)
    time.sleep(1)  # a second row, had one been made, would show by now
    got = httpx.get(url, timeout=10).json()["metrics"]["clicks"]
    for treatment, values in want.items():
        assert got[treatment]["n"] == len(values), treatment
        assert got[treatment]["mean"] == pytest.approx(float(np.mean(values)), rel=1e-12)
    # What a restart or another worker would recover: every row of every entity in
    # the entity's own changelog partition, never a second row elsewhere.
    rows = asyncio.run(
        changelog_rows(stack.infrastructure.kafka_bootstrap_servers, key, partitions)
    )
    assert set(rows) == {f"user-{i}" for i in range(8)}
    for entity, history in rows.items():
        assert {p for p, _ in history} == {topics.entity_partition(entity, partitions)}, entity
