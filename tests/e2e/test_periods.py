"""GetExperimentResults over two days of data: any period from a minute, one answer.

Periods of 300 s, 3600 s and a day must agree wherever their looks fall at the same time,
and each look's means must be those of the entities the test exposed, from their own
events, counting every bucket that began before the look. An exposure cannot be dated in
the past through the API (it is the evaluation's own time), so the test writes the
assignments to ``verdict.assignments`` as the evaluation service does, two days' worth
of them, and sends the events through PutProjectEvents. Everything after that is the
running stack: the processor, the aggregates topic, the results service and the edge.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from aiokafka import AIOKafkaProducer

from infra.launch.stack import Stack
from shared import topics
from shared.domain.resources import ResourceKind
from shared.streams import Assignment, encode_assignments
from tests.conftest import TEST_BUCKET_SECONDS
from tests.e2e.helpers import make_feature, now, propagated

pytestmark = pytest.mark.e2e

ARMS = ("control", "t1")
ENTITIES = 60
HISTORY = 2 * 86_400
STATS = ["BaseStat", "TreatmentEffect", "ConfidenceInterval", "PValue"]


async def produce(bootstrap: str, records: list[tuple[int, bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for partition, key, value in records:
            await producer.send(topics.ASSIGNMENTS, value, key=key, partition=partition)
        await producer.flush()
    finally:
        await producer.stop()


def counted(second: int, cutoff: float) -> bool:
    """Whether the bucket of an event or exposure at ``second`` began before ``cutoff``."""
    return second // TEST_BUCKET_SECONDS * TEST_BUCKET_SECONDS < cutoff


@pytest.fixture(scope="module")
def history(stack: Stack, evidently: Any) -> dict[str, Any]:
    """Entities exposed over the last two days, each with up to four revenue events in the
    hours after its exposure."""
    project = f"periods-{int(time.time() * 1000)}"
    evidently.create_project(name=project)
    make_feature(evidently, project, "f", *ARMS)
    evidently.create_experiment(
        project=project,
        name="e",
        treatments=[{"name": a, "feature": "f", "variation": a} for a in ARMS],
        metricGoals=[
            {
                "metricDefinition": {"name": "revenue", "entityIdKey": "user", "valueKey": "v"},
                "desiredChange": "INCREASE",
            }
        ],
        onlineAbConfig={
            "controlTreatmentName": "control",
            "treatmentWeights": {"control": 50_000, "t1": 50_000},
        },
    )
    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/e"
    # A fixed-horizon test: each look's figures depend on that look's data alone, so
    # series of different periods can be compared look for look.
    httpx.patch(url, json={"analysisConfig": {"method": "ttest"}}).raise_for_status()
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    propagated(stack, ("evaluation", "results"))
    key = httpx.get(f"{url}/aggregates").json()["experimentKey"]

    rng = random.Random(18)
    end = int(time.time()) - 120
    exposed: dict[str, tuple[str, int]] = {}
    records = []
    for i in range(ENTITIES):
        entity, arm = f"user-{i}", ARMS[i % 2]
        second = end - HISTORY + rng.randrange(HISTORY - 6 * 3_600)
        exposed[entity] = (arm, second)
        item = Assignment(
            entity, project, "f", ResourceKind.EXPERIMENT, "e", arm, arm, float(second), None, key
        )
        partition = topics.entity_partition(entity, stack.settings.topic_partitions)
        records.append((partition, entity.encode(), encode_assignments([item])))
    asyncio.run(produce(stack.infrastructure.kafka_bootstrap_servers, records))

    events: list[tuple[str, int, float]] = []
    for entity, (arm, second) in exposed.items():
        for _ in range(rng.randrange(5)):
            at = second + rng.randrange(1, 6 * 3_600)
            value = round(rng.uniform(1, 40) * (1.3 if arm == "t1" else 1.0), 2)
            events.append((entity, at, value))
    batch = [
        {
            "timestamp": datetime.fromtimestamp(at, UTC),
            "type": "aws.evidently.custom",
            "data": json.dumps({"user": entity, "v": value}),
        }
        for entity, at, value in events
    ]
    for k in range(0, len(batch), 50):
        out = evidently.put_project_events(project=project, events=batch[k : k + 50])
        assert out["failedEventCount"] == 0

    total = sum(v for _, _, v in events)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        agg = httpx.get(f"{url}/aggregates").json()["metrics"]["revenue"]
        n = sum(agg[a]["n"] for a in ARMS)
        if n == ENTITIES and sum(agg[a]["mean"] * agg[a]["n"] for a in ARMS) == pytest.approx(
            total, rel=1e-12
        ):
            break
        time.sleep(0.25)
    else:
        raise AssertionError("the aggregates never held every entity and event")
    return {"project": project, "exposed": exposed, "events": events, "end": end}


def reference_means(history: dict[str, Any], cutoff: float) -> dict[str, list[float]]:
    """Per arm, the outcome of each entity exposed in a bucket before ``cutoff``: its
    events in buckets before it."""
    outcome = {e: 0.0 for e, (_, s) in history["exposed"].items() if counted(s, cutoff)}
    for entity, at, value in history["events"]:
        if entity in outcome and counted(at, cutoff):
            outcome[entity] += value
    out: dict[str, list[float]] = {a: [] for a in ARMS}
    for entity, y in outcome.items():
        out[history["exposed"][entity][0]].append(y)
    return out


def ask(client: Any, history: dict[str, Any], period: int) -> dict[str, Any]:
    end = history["end"]
    return dict(
        client.get_experiment_results(
            project=history["project"],
            experiment="e",
            metricNames=["revenue"],
            treatmentNames=list(ARMS),
            resultStats=STATS,
            period=period,
            startTime=datetime.fromtimestamp(end - HISTORY - 3_600, UTC),
            endTime=datetime.fromtimestamp(end, UTC),
        )
    )


def by_look(body: dict[str, Any]) -> dict[float, dict[tuple[str, str], float]]:
    times = [t.timestamp() if isinstance(t, datetime) else float(t) for t in body["timestamps"]]
    out: dict[float, dict[tuple[str, str], float]] = {t: {} for t in times}
    for r in body["resultsData"]:
        for t, value in zip(times, r["values"], strict=True):
            out[t][(r["treatmentName"], r["resultStat"])] = value
    return out


def test_periods_of_five_minutes_an_hour_and_a_day_agree_where_their_looks_meet(
    evidently: Any, history: dict[str, Any]
) -> None:
    series = {p: by_look(ask(evidently, history, p)) for p in (300, 3_600, 86_400)}
    span = HISTORY + 3_600
    for period, looks in series.items():
        assert len(looks) == -(-span // period)
    daily = series[86_400]
    assert len(daily) == 3
    for t, figures in daily.items():
        for period in (300, 3_600):
            assert series[period][t] == figures, (period, t)
    # The looks of the hourly series are all looks of the five-minute one.
    for t, figures in series[3_600].items():
        assert series[300][t] == figures, t
    # Something to agree about: entities at every daily look, more at the later ones.
    counts = [len(reference_means(history, t)["t1"]) for t in sorted(daily)]
    assert 0 < counts[0] < counts[1] == counts[2] == ENTITIES // 2


@pytest.mark.parametrize("period", [60, 300, 3_607, 86_400])
def test_every_look_counts_the_buckets_that_began_before_it(
    unvalidated: Any, history: dict[str, Any], period: int
) -> None:
    """Checked against the test's own entities and events; 60 s and an odd 3607 s are
    sent by a client that skips botocore's own minimum of 300."""
    end = history["end"]
    if period == 60:
        # At most 1000 looks: a minute's period over the last sixteen hours.
        body = dict(
            unvalidated.get_experiment_results(
                project=history["project"],
                experiment="e",
                metricNames=["revenue"],
                treatmentNames=list(ARMS),
                resultStats=["BaseStat"],
                period=60,
                startTime=datetime.fromtimestamp(end - 960 * 60, UTC),
                endTime=datetime.fromtimestamp(end, UTC),
            )
        )
    else:
        body = ask(unvalidated, history, period)
    looks = by_look(body)
    checked = 0
    for t, figures in looks.items():
        reference = reference_means(history, t)
        for arm in ARMS:
            if reference[arm]:
                assert figures[(arm, "Mean")] == pytest.approx(
                    float(np.mean(reference[arm])), rel=1e-12
                ), (t, arm)
                checked += 1
    assert checked >= len(looks)  # most looks have both arms' entities, none has neither


def test_a_period_under_a_minute_is_refused_naming_the_field(
    unvalidated: Any, history: dict[str, Any]
) -> None:
    with pytest.raises(unvalidated.exceptions.ValidationException, match="period"):
        ask(unvalidated, history, 59)
