"""Scenario 5: the evaluation service's and the processor's memory."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
import psutil

from bench.common import (
    api,
    experiment_key,
    log,
    produce,
    setup_experiment,
)
from infra.launch.stack import Stack
from shared.streams import Assignment, encode_assignments

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
