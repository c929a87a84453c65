"""Scenario 1b/c: EvaluateFeature and BatchEvaluateFeature over HTTP, and the server choice."""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx

from bench.common import (
    PY,
    REPO,
    log,
)
from infra.launch.ports import free_port
from infra.launch.stack import Stack

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
