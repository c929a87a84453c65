"""Scenario 4: GetExperimentResults' latency against the number of events aggregated.

Two pairs, each timed in the same run, in turns:
- 10^7 against 10^4 events, as minute cells over the 30 days before the experiment's
  start, written to ``verdict.aggregates`` in the processor's format: 10^7 events fill
  every minute of every arm, 10^4 fill one minute in 65;
- 10^6 against 10^4 events that go through the pipeline: assignments and events produced
  to Kafka, routed and joined by the processor, snapshotted to ``verdict.aggregates``,
  waited for until the results service holds every one of them.
Each experiment is asked two ways: one look (the window from its start, which counts
every cell before now) and 30 daily looks over the 30 days.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.common import (
    PARTITIONS,
    experiment_key,
    log,
    produce,
    setup_experiment,
)
from bench.scenarios.ingestion import processor_applied, wait_applied
from bench.scenarios.memory import rss_mib
from infra.launch.stack import Stack
from shared.domain.resources import ResourceKind
from shared.streams import Assignment, CellRecord, SnapshotMark, encode_assignments
from shared.streams import encode_metric_event as encode_event

TREATMENTS = ["control", "t1", "t2", "t3", "t4"]
# Evidently's model allows at most 3 metricGoals per experiment.
METRICS = [f"m{k}" for k in range(3)]
DAYS = 30
MINUTE = 60
HISTORY = DAYS * 86_400
REQUESTS = {
    "one_look": {"period": 300},
    "daily_looks": {"period": 86_400, "history": True},
}
ROUNDS = 100
SYNTHETIC = {"1e4": 10_000, "1e7": 10_000_000}
INGESTED = {"ingested_1e4": 10_000, "ingested_1e6": 1_000_000}

# -- scenario 4: results latency vs aggregated events -----------------------------------------


def synthetic_cells(key: str, events: int, start: float) -> list[tuple[bytes, bytes]]:
    """Minute cells as the processor publishes them, for ``events`` events spread over the
    arms and the 30 days before ``start``: every minute once there are more events than
    minutes, otherwise as many random minutes as events.

    Pushing 10^7 events through one processor worker does not fit the suite's time
    budget (the ingested pair below measures real cells at 10^6). The per-cell statistics
    are computed exactly (numpy) from simulated per-entity sums.
    """
    import numpy as np

    from shared.domain.cells import Cell
    from shared.domain.stats.sums import PowerSums

    rng = np.random.default_rng(3)
    out = []
    minutes = HISTORY // MINUTE
    per_arm = events // (len(TREATMENTS) * len(METRICS))
    filled = min(minutes, per_arm)
    per_cell = per_arm // filled
    first = int(start // MINUTE) - minutes
    for m in METRICS:
        for t in TREATMENTS:
            chosen = np.sort(rng.choice(minutes, filled, replace=False))
            for b in chosen.tolist():
                # Whole-number outcomes, so numpy's int64 sums are the exact power sums a
                # cell holds.
                y = rng.poisson(10.0, per_cell).astype(np.int64)
                x = y // 2 + rng.poisson(3.0, per_cell).astype(np.int64)
                sums = PowerSums(
                    per_cell,
                    0,
                    int(x.sum()),
                    int(y.sum()),
                    int((x * x).sum()),
                    int((y * y).sum()),
                    int((x * y).sum()),
                )
                cell = Cell(sums, int((y > 0).sum()))
                record = CellRecord(key, m, t, first + b, MINUTE, 0, cell)
                out.append((record.key(), record.encode()))
    # A reader applies a partition's cells at the mark that closes the snapshot.
    mark = SnapshotMark(0)
    out.append((mark.key(), mark.encode()))
    return out


def ingest(stack: Stack, project: str, name: str, events: int) -> dict[str, Any]:
    """``events`` events of ``events // 10`` entities, exposed over the last 30 days, each
    with ten events (one metric each, in turn) in the three days after its exposure, all
    through Kafka and the processor; returns once the results service holds them all."""
    import numpy as np

    key = experiment_key(stack, project, name)
    bootstrap = stack.infrastructure.kafka_bootstrap_servers
    rng = np.random.default_rng(11)
    entities = events // 10
    now = time.time()
    exposed = now - HISTORY + rng.uniform(0, HISTORY - 3_600, entities)
    assignments = [
        (
            f"{name}-user-{i}".encode(),
            encode_assignments(
                [
                    Assignment(
                        f"{name}-user-{i}",
                        project,
                        f"f-{name}",
                        ResourceKind.EXPERIMENT,
                        name,
                        TREATMENTS[i % len(TREATMENTS)],
                        TREATMENTS[i % len(TREATMENTS)],
                        float(int(exposed[i])),
                        None,
                        key,
                    )
                ]
            ),
        )
        for i in range(entities)
    ]
    whom = np.repeat(np.arange(entities), 10)
    after = rng.uniform(1, 3 * 86_400, events)
    stamps = np.minimum(exposed[whom].astype(np.int64) + 1 + after, now - 60).astype(np.int64)
    values = rng.integers(1, 6, events)
    order = np.argsort(stamps, kind="stable")
    totals = [0, 0, 0]
    records = []
    for j in order.tolist():
        metric = j % len(METRICS)
        totals[metric] += int(values[j])
        entity = f"{name}-user-{int(whom[j])}"
        records.append(
            (
                entity.encode(),
                encode_event(
                    event_id=str(uuid.uuid4()),
                    project=project,
                    event_type="aws.evidently.custom",
                    timestamp=float(stamps[j]),
                    data={"user": entity, f"v{metric}": int(values[j])},
                    entity_id=None,
                    request_id=None,
                ),
            )
        )
    log(f"{name}: {entities:,} assignments, then {events:,} events, to Kafka")
    started = time.perf_counter()
    asyncio.run(produce(bootstrap, "verdict.assignments", assignments))
    before = processor_applied(stack)
    asyncio.run(produce(bootstrap, "verdict.events", records))
    produced = time.perf_counter()
    wait_applied(stack, before + events, timeout=1800)
    applied = time.perf_counter()
    wait_held(stack, project, name, totals, entities)
    held = time.perf_counter()
    return {
        "events": events,
        "entities": entities,
        "produce_seconds": produced - started,
        "applied_seconds": applied - started,
        "held_seconds": held - started,
    }


def wait_held(
    stack: Stack, project: str, name: str, totals: list[int], entities: int, timeout: float = 1800
) -> None:
    """Until the results service's aggregates hold every entity and every event's value."""
    url = f"{stack.url('results')}/projects/{project}/experiments/{name}/analysis"
    deadline = time.monotonic() + timeout
    seen: Any = None
    while time.monotonic() < deadline:
        seen = httpx.get(url, timeout=120).json()
        held: dict[str, dict[str, tuple[int, float]]] = {}
        for c in seen.get("comparisons", []):
            arms = held.setdefault(c["metric"], {})
            arms[seen["control"]] = (c["control"]["n"], c["control"]["mean"])
            arms[c["treatment"]] = (c["treatmentStats"]["n"], c["treatmentStats"]["mean"])
        if len(held) == len(METRICS) and all(
            sum(n for n, _ in held[m].values()) == entities
            and round(sum(n * mean for n, mean in held[m].values())) == totals[k]
            for k, m in enumerate(METRICS)
        ):
            return
        time.sleep(1)
    raise TimeoutError(f"the aggregates of {name} never held every event: {str(seen)[:300]}")


def timed(
    stack: Stack, project: str, names: dict[str, str], started: float
) -> dict[str, dict[str, Any]]:
    """Median latency of each request shape for each experiment, asked in turns."""
    client = httpx.Client(base_url=stack.url("results"), timeout=120)
    out: dict[str, dict[str, Any]] = {label: {} for label in names}

    def once(label: str, shape: str) -> float:
        spec = REQUESTS[shape]
        body: dict[str, Any] = {
            "metricNames": ["m0"],
            "treatmentNames": TREATMENTS,
            "period": spec["period"],
            "resultStats": ["BaseStat", "TreatmentEffect", "ConfidenceInterval", "PValue"],
            "reportNames": ["BayesianInference"],
        }
        if spec.get("history"):
            body["startTime"] = started - HISTORY
        t = time.perf_counter()
        response = client.post(f"/projects/{project}/experiments/{names[label]}/results", json=body)
        elapsed = (time.perf_counter() - t) * 1000
        assert response.status_code == 200, response.text
        answer = response.json()
        assert "details" not in answer, (label, shape, answer)
        out[label][shape] = {"looks": len(answer["timestamps"])}
        return elapsed

    for shape in REQUESTS:
        # The first request after loading extends every running sum it needs.
        for label in names:
            first = once(label, shape)
            out[label][f"{shape}_first_ms"] = first
        for _ in range(5):
            for label in names:
                once(label, shape)  # warm-up
        # Interleaved, so that whatever else the machine does at the time hits both alike.
        latencies: dict[str, list[float]] = {label: [] for label in names}
        for _ in range(ROUNDS):
            for label in names:
                latencies[label].append(once(label, shape))
        for label in names:
            out[label][shape]["median_ms"] = statistics.median(latencies[label])
    return out


def ratios(out: dict[str, Any], big: str, small: str) -> dict[str, float]:
    return {
        shape: out[big][shape]["median_ms"] / out[small][shape]["median_ms"] for shape in REQUESTS
    }


def wait_partitions_built(stack: Stack, timeout: float = 300) -> None:
    """Until the processor has rebuilt every partition's cells and published the reset
    that starts them afresh: synthetic cells written to a partition before its reset
    would be taken out by it."""
    url = f"{stack.url('processor')}/readyz"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = httpx.get(url, timeout=10)
        if response.is_success and response.json().get("partitions") == list(range(PARTITIONS)):
            # The reset goes out with the next snapshot round.
            time.sleep(4 * stack.settings.snapshot_interval + 1)
            return
        time.sleep(0.5)
    raise TimeoutError("the processor never built all its partitions")


def results_latency(stack: Stack, project: str) -> dict[str, Any]:
    out: dict[str, Any] = {"treatments": len(TREATMENTS), "metrics": len(METRICS)}
    wait_partitions_built(stack)
    names = {label: f"results-{label}" for label in SYNTHETIC}
    started = 0.0
    for label, events in SYNTHETIC.items():
        setup_experiment(stack, project, treatments=5, metrics=3, name=names[label])
        key = experiment_key(stack, project, names[label])
        started = datetime.now(UTC).timestamp()
        log(f"{label}: synthesising minute cells")
        cells = synthetic_cells(key, events, started)
        asyncio.run(
            produce(stack.infrastructure.kafka_bootstrap_servers, "verdict.aggregates", cells)
        )
        out[label] = {"events": events, "cells": len(cells) - 1}
    # Every cell read: the larger experiment's series complete.
    wait_held_cells(stack, project, names["1e7"], SYNTHETIC["1e7"])
    out["results_rss_mib_with_synthetic_cells"] = rss_mib(stack, "results")
    for label, figures in timed(stack, project, names, started).items():
        out[label].update(figures)
    out["ratio_1e7_vs_1e4"] = ratios(out, "1e7", "1e4")

    names = {label: label.replace("_", "-") for label in INGESTED}
    for label, events in INGESTED.items():
        setup_experiment(stack, project, treatments=5, metrics=3, name=names[label])
        started = datetime.now(UTC).timestamp()
        out[label] = ingest(stack, project, names[label], events)
    for label, figures in timed(stack, project, names, started).items():
        out[label].update(figures)
    out["ratio_ingested_1e6_vs_1e4"] = ratios(out, "ingested_1e6", "ingested_1e4")
    out["results_rss_mib_at_the_end"] = rss_mib(stack, "results")
    out["partitions"] = PARTITIONS
    return out


def wait_held_cells(stack: Stack, project: str, name: str, events: int) -> None:
    """Until the results service holds all of a synthetic experiment's entities."""
    url = f"{stack.url('results')}/projects/{project}/experiments/{name}/analysis"
    per_arm = events // (len(TREATMENTS) * len(METRICS))
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        body = httpx.get(url, timeout=120).json()
        found = [c["treatmentStats"]["n"] for c in body.get("comparisons", [])]
        if found and min(found) >= per_arm - per_arm % (HISTORY // MINUTE):
            return
        time.sleep(1)
    raise TimeoutError(f"the results service never held {name}'s cells")
