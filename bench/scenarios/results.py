"""Scenario 4: GetExperimentResults' latency against the number of events aggregated."""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.common import (
    experiment_key,
    produce,
    setup_experiment,
)
from infra.launch.stack import Stack
from shared.streams import CellRecord, SnapshotMark

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

    from shared.domain.cells import Cell
    from shared.domain.stats.sums import PowerSums

    rng = np.random.default_rng(3)
    out = []
    per_cell = max(2, events // (len(treatments) * len(metrics) * buckets))
    first = int(start // bucket_seconds)
    for m in metrics:
        for t in treatments:
            for b in range(buckets):
                n = min(per_cell, 200_000)
                # Whole-number outcomes, so numpy's int64 sums are the exact power sums a
                # cell holds; a sample of n stands for per_cell entities by repetition.
                y = rng.poisson(10.0, n).astype(np.int64)
                x = y // 2 + rng.poisson(3.0, n).astype(np.int64)
                repeat = per_cell // n
                sums = PowerSums(
                    n * repeat,
                    0,
                    int(x.sum()) * repeat,
                    int(y.sum()) * repeat,
                    int((x * x).sum()) * repeat,
                    int((y * y).sum()) * repeat,
                    int((x * y).sum()) * repeat,
                )
                cell = Cell(sums, int((y > 0).sum()) * repeat)
                record = CellRecord(key, m, t, first + b, bucket_seconds, 0, cell)
                out.append((record.key(), record.encode()))
    # A reader applies a partition's cells at the mark that closes the snapshot.
    mark = SnapshotMark(0)
    out.append((mark.key(), mark.encode()))
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
