"""The processor's view of the configuration: which metric events feed which experiments.

It follows the Postgres event feed like the evaluation service does, and after
each batch recompiles the metric specs of experiments that are CREATED (so
pre-exposure events become CUPED covariates) or RUNNING.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from shared.domain.cells import CellPlan, MetricPlan
from shared.domain.entity import DAY, Rules, Window
from shared.domain.events import MetricGoal
from shared.domain.experiment import Experiment
from shared.domain.observations import MetricSpec, metric_specs
from shared.domain.stats.vocabulary import CapKind, MetricType
from shared.domain.values import Status
from shared.follower import ConfigFollower


class ProcessorConfig:
    def __init__(self, database_url: str) -> None:
        self.follower = ConfigFollower(database_url, after_batch=self.refresh, name="processor")
        self.view = self.follower.view
        self.specs: dict[str, list[MetricSpec]] = {}
        # experiment key -> what its cells measure
        self.plans: dict[str, CellPlan] = {}
        self.ready = asyncio.Event()

    async def start(self) -> None:
        await self.follower.start()
        self.refresh()
        self.ready.set()

    def refresh(self) -> None:
        specs: dict[str, list[MetricSpec]] = defaultdict(list)
        plans: dict[str, CellPlan] = {}
        for x in self.view.experiments.values():
            if x.deleted:
                continue
            plans[x.experiment_id] = cell_plan(x)
            if x.status in (Status.CREATED, Status.RUNNING):
                specs[x.project].extend(metric_specs(x))
        self.specs = dict(specs)
        self.plans = plans


def _metric_plan(goal: MetricGoal) -> MetricPlan:
    cap = goal.cap.value if goal.cap is not None and goal.cap.kind is CapKind.ABSOLUTE else None
    percentile = (
        goal.cap.value if goal.cap is not None and goal.cap.kind is CapKind.PERCENTILE else None
    )
    formula = goal.formula
    return MetricPlan(
        goal.definition.name,
        goal.metric_type,
        cap,
        percentile,
        1 + len(goal.funnel_steps) if goal.metric_type is MetricType.FUNNEL else 0,
        (formula.numerator, formula.denominator) if formula is not None else None,
        formula.operator if formula is not None else None,
    )


def _window(goal: MetricGoal) -> Window | None:
    if goal.metric_type is MetricType.RETENTION and goal.retention_day is not None:
        return Window(goal.retention_day * DAY, (goal.retention_day + 1) * DAY)
    if goal.window_seconds is not None:
        return Window(0, goal.window_seconds)
    return None


def cell_plan(experiment: Experiment) -> CellPlan:
    """What the processor keeps for one experiment, from its configuration."""
    goals = experiment.config.metric_goals
    windows = {g.definition.name: w for g in goals if (w := _window(g)) is not None}
    rules = Rules(
        by_event=experiment.config.exposure is not None,
        windows=windows,
        funnels=frozenset(g.definition.name for g in goals if g.metric_type is MetricType.FUNNEL),
    )
    return CellPlan(
        tuple(_metric_plan(g) for g in goals),
        experiment.config.analysis.cuped_window_days * 86_400.0,
        rules,
    )
