"""Scenario 2: how long a configuration change takes to reach evaluation."""

from __future__ import annotations

import statistics
import time
from typing import Any

import httpx

from bench.common import (
    api,
    wait_propagated,
)
from infra.launch.stack import Stack

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
