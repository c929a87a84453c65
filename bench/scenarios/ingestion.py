"""Scenario 3: events to aggregates, against a raw consumer and faust's own floor."""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import subprocess
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from bench.common import (
    PARTITIONS,
    PY,
    REPO,
    experiment_key,
    log,
    produce,
    setup_experiment,
)
from infra.launch.stack import Stack
from shared import topics
from shared.streams import Assignment, encode_assignments, encode_metric_event

# -- scenario 3: ingestion -------------------------------------------------------------------


def processor_applied(stack: Stack) -> float:
    text = httpx.get(f"{stack.url('processor')}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if (
            line.startswith("verdict_processor_records_total{")
            and 'topic="verdict.observations"' in line
            and ('outcome="applied"' in line or 'outcome="unchanged"' in line)
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def wait_applied(stack: Stack, target: float, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if processor_applied(stack) >= target:
            return time.perf_counter()
        time.sleep(0.05)
    raise TimeoutError(f"processor did not reach {target} applied observations")


async def raw_consumer_rate(bootstrap: str, topic: str, count: int) -> float:
    """The baseline: an aiokafka consumer reading the same records from the same broker."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=5000,
    )
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        consumer.assign(parts)
        end = await consumer.end_offsets(parts)
        for tp in parts:
            consumer.seek(tp, max(0, end[tp] - count // PARTITIONS))
        seen = 0
        started = time.perf_counter()
        while seen < count - 8:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            for messages in batch.values():
                for m in messages:
                    # The floor: the transport and a JSON parse, no Verdict code.
                    orjson.loads(m.value)
                    seen += 1
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()


def faust_floor_rate(bootstrap: str, topic: str, count: int) -> float:
    out = subprocess.run(
        [
            PY,
            str(REPO / "bench" / "faust_floor.py"),
            "--bootstrap",
            bootstrap,
            "--topic",
            topic,
            "--count",
            str(count),
            "--partitions",
            str(PARTITIONS),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        cwd=REPO,
    ).stdout
    # faust's worker writes terminal escapes around the line; the JSON is the object.
    found = re.search(r"\{.*\}", out)
    if found is None:
        raise RuntimeError(f"the faust floor printed no result: {out[-500:]!r}")
    return float(json.loads(found.group(0))["events_per_s"])


def ingestion(stack: Stack, project: str) -> dict[str, Any]:
    setup_experiment(stack, project, name="ingest")
    key = experiment_key(stack, project, "ingest")
    bootstrap = stack.infrastructure.kafka_bootstrap_servers
    entities = 2000
    now = time.time()
    assignments = [
        (
            f"user-{i}".encode(),
            encode_assignments(
                [
                    Assignment(
                        f"user-{i}",
                        project,
                        "f",
                        "experiment",
                        "ingest",
                        ("control", "t1")[i % 2],
                        "x",
                        now - 5,
                        None,
                        key,
                    )
                ]
            ),
        )
        for i in range(entities)
    ]
    asyncio.run(produce(bootstrap, "verdict.assignments", assignments))
    results: dict[str, Any] = {"entities": entities}

    n = 20_000
    before = processor_applied(stack)
    log(f"PutProjectEvents: {n} events in batches of 50")
    stamp = datetime.now(UTC).isoformat()
    payloads = [
        {
            "events": [
                {
                    "timestamp": time.time(),
                    "type": "aws.evidently.custom",
                    "data": json.dumps({"user": f"user-{(b * 50 + j) % entities}", "v0": 1.5}),
                }
                for j in range(50)
            ]
        }
        for b in range(n // 50)
    ]

    async def send_all() -> None:
        async with httpx.AsyncClient(base_url=stack.url("evaluation"), timeout=60) as client:
            semaphore = asyncio.Semaphore(16)

            async def one(body: dict[str, Any]) -> None:
                async with semaphore:
                    r = await client.post(f"/events/projects/{project}", json=body)
                    assert r.json()["failedEventCount"] == 0

            await asyncio.gather(*(one(p) for p in payloads))

    del stamp
    started = time.perf_counter()
    asyncio.run(send_all())
    accepted = time.perf_counter()
    done = wait_applied(stack, before + n)
    results["put_project_events"] = {
        "events": n,
        "accept_events_per_s": n / (accepted - started),
        "end_to_end_events_per_s": n / (done - started),
    }

    n = 100_000
    log(f"direct Kafka producer: {n} events")
    before = processor_applied(stack)
    records = [
        (
            f"user-{i % entities}".encode(),
            encode_metric_event(
                event_id=str(uuid.uuid4()),
                project=project,
                event_type="aws.evidently.custom",
                timestamp=time.time(),
                data={"user": f"user-{i % entities}", "v0": 2.0},
                entity_id=None,
                request_id=None,
            ),
        )
        for i in range(n)
    ]
    started = time.perf_counter()
    asyncio.run(produce(bootstrap, "verdict.events", records))
    produced = time.perf_counter()
    done = wait_applied(stack, before + n)
    direct = n / (done - started)
    log("baseline: raw aiokafka consumer over the same topic")
    raw = statistics.median(
        asyncio.run(raw_consumer_rate(bootstrap, "verdict.events", n)) for _ in range(3)
    )
    log("baseline: a faust worker that only counts, over the same topic")
    floor = faust_floor_rate(bootstrap, topics.EVENTS, n)
    results["direct_producer"] = {
        "events": n,
        "end_to_end_events_per_s": direct,
        # The producer shares the two cores: how long it took to hand over every record.
        "produce_seconds": produced - started,
        "total_seconds": done - started,
    }
    results["raw_consumer_events_per_s"] = raw
    results["faust_floor_events_per_s"] = floor
    results["ratio_direct_vs_faust_floor"] = direct / floor
    results["ratio_direct_vs_raw"] = direct / raw
    results["ratio_put_vs_raw"] = results["put_project_events"]["end_to_end_events_per_s"] / raw
    return results
