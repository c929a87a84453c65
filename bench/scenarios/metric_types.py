"""The processor's cost per event for each metric type, against the sum of a value.

What differs between metric types is the processor's pure work per event: routing it to
observations (``observe``), folding them into entity rows (``join.fold``) and moving the
entity's points between cells (``cells.contribute``). Kafka's share is the same bytes for
every type, so it is left out: this measures the code that changes, in process, on one core.
Each type runs alone in an experiment of one metric goal (the formula with its two parts),
over the same events; the figure is the median of 5 runs, and each type's ratio is against
the sum of a value measured in the same run.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from services.processor.config import cell_plan
from services.processor.join import fold
from shared.domain.cells import Cell, CellKey, contribute
from shared.domain.entity import EntityState
from shared.domain.events import (
    ExperimentConfig,
    ExposureEvent,
    MetricCap,
    MetricDefinition,
    MetricFormula,
    MetricGoal,
    Treatment,
)
from shared.domain.experiment import Experiment
from shared.domain.observations import metric_specs, observe
from shared.domain.stats.vocabulary import CapKind, FormulaOperator, MetricType
from shared.streams import Exposure, Observed

ENTITIES = 2_000
EVENTS = 20_000
BUCKET = 60
BATCH = 500
RUNS = 5
KEY = "bench-types"


def _goal(name: str, kind: MetricType, event: str = "buy", **kw: Any) -> MetricGoal:
    pattern = '{"kind": ["' + event + '"]}'
    return MetricGoal(
        MetricDefinition(name, "user", "amount", pattern),
        metric_type=kind,
        **kw,
    )


CASES: dict[str, tuple[tuple[MetricGoal, ...], ExposureEvent | None]] = {
    "SUM": ((_goal("m", MetricType.SUM),), None),
    "COUNT": ((_goal("m", MetricType.COUNT),), None),
    "UNIQUE_CONVERSIONS": ((_goal("m", MetricType.UNIQUE_CONVERSIONS),), None),
    "AVERAGE": ((_goal("m", MetricType.AVERAGE),), None),
    "FUNNEL": (
        (
            _goal(
                "m",
                MetricType.FUNNEL,
                "view",
                funnel_steps=('{"kind": ["cart"]}', '{"kind": ["buy"]}'),
            ),
        ),
        None,
    ),
    "FORMULA (ratio, with its two parts)": (
        (
            _goal("a", MetricType.SUM),
            _goal("b", MetricType.COUNT),
            _goal("m", MetricType.FORMULA, formula=MetricFormula(FormulaOperator.RATIO, "a", "b")),
        ),
        None,
    ),
    "RETENTION": ((_goal("m", MetricType.RETENTION, "view", retention_day=1),), None),
    "SUM, percentile cap": (
        (_goal("m", MetricType.SUM, cap=MetricCap(CapKind.PERCENTILE, 99.0)),),
        None,
    ),
    "SUM, exposure event": (
        (_goal("m", MetricType.SUM),),
        ExposureEvent('{"kind": ["page"]}', "user"),
    ),
}


def _experiment(goals: tuple[MetricGoal, ...], exposure: ExposureEvent | None) -> Experiment:
    config = ExperimentConfig(
        None,
        (Treatment("c", None, "f", "a"), Treatment("t", None, "f", "b")),
        goals,
        "c",
        {"c": 50_000, "t": 50_000},
        "salt",
        100_000,
        None,
        exposure=exposure,
    )
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return Experiment("p", "e", config, {}, "RUNNING", at, at, started_at=at, experiment_id=KEY)


def _events(seed: int) -> list[dict[str, Any]]:
    """The same stream for every type: views, carts, buys and pages over two days."""
    rng = random.Random(seed)
    kinds = ("view", "cart", "buy", "buy", "page")
    return [
        {
            "user": f"u{rng.randrange(ENTITIES)}",
            "kind": rng.choice(kinds),
            "amount": round(rng.uniform(0, 50), 2),
            "ts": 1_800_000_000 + rng.uniform(0, 2 * 86_400),
        }
        for _ in range(EVENTS)
    ]


def _run(experiment: Experiment, data: list[dict[str, Any]]) -> float:
    """Events per second through observe, fold and contribute, exposures first."""
    plan = cell_plan(experiment)
    specs = metric_specs(experiment)
    table: dict[str, EntityState] = {}
    cells: dict[CellKey, Cell] = {}
    exposures = [
        Exposure(KEY, f"u{i}", "c" if i % 2 else "t", 1_800_000_000.0) for i in range(ENTITIES)
    ]

    def apply(updates: list[Any]) -> None:
        folded = fold(updates, table.get, BUCKET, None, lambda _key: plan.rules)
        for key, change in folded.changes.items():
            contribute(cells, plan, change.before, change.after, BUCKET)
            table[key] = change.after

    for k in range(0, len(exposures), BATCH):
        apply(list(exposures[k : k + BATCH]))
    started = time.perf_counter()
    for k in range(0, len(data), BATCH):
        updates: list[Any] = []
        for i, event in enumerate(data[k : k + BATCH]):
            for o in observe(specs, event):
                updates.append(Observed(o, event["ts"], k + i))
        apply(updates)
    return len(data) / (time.perf_counter() - started)


def metric_type_cost(runs: int = RUNS, measure: Callable[..., float] = _run) -> dict[str, Any]:
    data = _events(7)
    goals, exposure = CASES["SUM"]
    measure(_experiment(goals, exposure), data)  # warm-up: caches, allocator
    rates: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(runs):
        # Interleaved, so that the machine's drift falls on every type alike.
        for name, (goals, exposure) in CASES.items():
            rates[name].append(measure(_experiment(goals, exposure), data))
    medians = {name: statistics.median(r) for name, r in rates.items()}
    base = medians["SUM"]
    return {
        "events": EVENTS,
        "entities": ENTITIES,
        "runs": runs,
        "events_per_s": medians,
        "vs_sum": {name: rate / base for name, rate in medians.items()},
    }
