"""Traffic that used to stop ingestion for everyone: a heavy entity, values past the
limit, huge entity ids, unreadable records. Each is absorbed or set aside, with the
processor running throughout and everyone else's aggregates exact."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest

from infra import quarantine
from infra.launch.stack import Stack
from shared import topics
from tests.e2e.helpers import now, propagated
from tests.e2e.test_ingestion import METRICS, changelog_rows, create_experiment, produce_to

pytestmark = pytest.mark.e2e


def started(stack: Stack, evidently: Any, project: str) -> str:
    """A running experiment "e" in a new project; its experiment key."""
    create_experiment(evidently, project, METRICS)
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    propagated(stack)
    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/e/aggregates"
    return str(httpx.get(url).json()["experimentKey"])


def expose(evidently: Any, project: str, entities: list[str]) -> dict[str, str]:
    out = {}
    for k in range(0, len(entities), 20):
        results = evidently.batch_evaluate_feature(
            project=project,
            requests=[{"feature": "f", "entityId": e} for e in entities[k : k + 20]],
        )["results"]
        for r in results:
            out[r["entityId"]] = r["variation"]
    return out


def raw_event(project: str, entity: str, clicks: float, ts: float) -> bytes:
    return orjson.dumps(
        {
            "eventId": str(uuid.uuid4()),
            "project": project,
            "type": "aws.evidently.custom",
            "timestamp": ts,
            "data": {"user": {"id": entity}, "details": {"clicks": clicks}},
        }
    )


def clicks_of(stack: Stack, project: str) -> dict[str, Any]:
    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/e/aggregates"
    body = httpx.get(url).json()
    assert "metrics" in body, body
    return dict(body["metrics"]["clicks"])


def wait_for(condition: Any, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    raise AssertionError("timed out")


def processor_pid(stack: Stack) -> int:
    return int(stack.services["processor"].process.pid)


def test_a_heavy_entity_stays_bounded_and_stops_no_one(
    stack: Stack, evidently: Any, unique: str
) -> None:
    """10^5 events of one entity, while another project ingests: the processor never
    restarts, the heavy entity's row stays under 64 KB, and both aggregates are exact."""
    pid = processor_pid(stack)
    heavy_project, other_project = f"heavy-{unique}", f"other-{unique}"
    heavy_key = started(stack, evidently, heavy_project)
    started(stack, evidently, other_project)
    expose(evidently, heavy_project, ["whale"])
    others = expose(evidently, other_project, [f"u{i}" for i in range(40)])
    time.sleep(1.1)
    t0 = time.time()
    records = [
        (topics.EVENTS, None, raw_event(heavy_project, "whale", 1.0, t0 + (i % 600)), b"whale")
        for i in range(100_000)
    ]
    other_records = [
        (topics.EVENTS, None, raw_event(other_project, e, 2.0, t0), e.encode()) for e in others
    ]
    # The other project's events interleave with the heavy entity's.
    mixed = records[:50_000] + other_records + records[50_000:]
    asyncio.run(produce_to(stack.settings.kafka_bootstrap_servers or "", mixed))

    def caught_up() -> bool:
        heavy = clicks_of(stack, heavy_project)
        other = clicks_of(stack, other_project)
        whale = next(a for a in heavy.values() if a["n"] == 1)
        return bool(
            whale["mean"] == 100_000.0
            and sum(a["n"] for a in other.values()) == 40
            and all(a["mean"] == 2.0 for a in other.values() if a["n"])
        )

    wait_for(caught_up, timeout=150)
    assert processor_pid(stack) == pid, "the processor restarted"
    # Caught up means no lag: the table's changelog is not counted as work left.
    wait_for(
        lambda: httpx.get(f"{stack.url('processor')}/readyz").json()["consumerLag"] == 0,
        timeout=30,
    )
    rows = asyncio.run(changelog_rows(stack.settings.kafka_bootstrap_servers or "", heavy_key))
    sizes = [len(orjson.dumps(row)) for _, row in rows["whale"]]
    assert max(sizes) < 64 * 1024


def test_poison_values_and_ids_are_set_aside_and_counting_goes_on(
    stack: Stack, evidently: Any, unique: str
) -> None:
    """A value past ±1e150, eight 300 KB entity ids and an unreadable record, written
    straight to Kafka (past PutProjectEvents' checks): each lands in the quarantine with its
    reason, the good events around them count, and the results service stays ready."""
    pid = processor_pid(stack)
    project = f"poison-{unique}"
    started(stack, evidently, project)
    expose(evidently, project, ["a", "b"])
    time.sleep(1.1)
    bootstrap = stack.settings.kafka_bootstrap_servers or ""
    t = time.time()
    poison = [
        raw_event(project, "a", 1e200, t),
        raw_event(project, "a", -1e300, t),
        *(raw_event(project, "x" * 300_000 + str(i), 1.0, t) for i in range(8)),
        orjson.dumps({"v": 9, "project": project, "timestamp": t, "data": {}}),
    ]
    good = [raw_event(project, "a", 3.0, t), raw_event(project, "b", 5.0, t)]
    asyncio.run(
        produce_to(bootstrap, [(topics.EVENTS, None, value, None) for value in poison + good])
    )

    def counted() -> bool:
        arms_seen = clicks_of(stack, project).values()
        n = sum(a["n"] for a in arms_seen)
        total = sum(a["mean"] * a["n"] for a in arms_seen)
        return bool(n == 2 and total == 8.0)

    wait_for(counted)

    async def mine() -> list[dict[str, Any]]:
        return [
            q.summary()
            async for q in quarantine.read(bootstrap)
            if project.encode() in q.record.payload[:400_000]
        ]

    quarantined = asyncio.run(mine())
    reasons = [q["reason"] for q in quarantined]
    assert sum("outside ±1e+150" in r for r in reasons) == 2
    assert sum("longer than 512" in r for r in reasons) == 8
    assert sum("schema version 9" in r for r in reasons) == 1
    assert all(q["stage"] == "router" and q["source"] == topics.EVENTS for q in quarantined)
    assert processor_pid(stack) == pid, "the processor restarted"
    ready = httpx.get(f"{stack.url('results')}/readyz")
    assert ready.status_code == 200, ready.text

    # A replay writes the records back where they came from; still over the limit, they
    # are set aside again, and nothing is counted twice.
    offsets = {q["offset"] for q in quarantined if "outside" in q["reason"]}
    replayed = asyncio.run(quarantine.replay(bootstrap, offsets))
    assert replayed == 2
    wait_for(lambda: len([r for r in asyncio.run(mine()) if "outside" in r["reason"]]) == 4)


def test_the_cli_lists_what_was_set_aside(stack: Stack, unique: str) -> None:
    import json
    import subprocess
    import sys

    bootstrap = stack.settings.kafka_bootstrap_servers or ""
    bad = orjson.dumps({"v": 7, "project": f"cli-{unique}", "timestamp": time.time(), "data": {}})
    asyncio.run(produce_to(bootstrap, [(topics.EVENTS, None, bad, None)]))

    def listed() -> list[dict[str, Any]]:
        out = subprocess.run(
            [sys.executable, "-m", "infra.cli", "quarantine", "list"],
            env={**stack.env(), "KAFKA_BOOTSTRAP_SERVERS": bootstrap},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        return [json.loads(line) for line in out.splitlines() if f"cli-{unique}" in line]

    wait_for(lambda: len(listed()) == 1, timeout=60)
    [entry] = listed()
    assert entry["stage"] == "router" and "schema version 7" in entry["reason"]
