"""The processor's view of the configuration: which metric events feed which experiments.

It follows the Postgres event feed like the evaluation service does, and after
each batch recompiles the metric specs of experiments that are CREATED (so
pre-exposure events become CUPED covariates) or RUNNING.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from shared.domain.cells import CellPlan
from shared.domain.observations import MetricSpec, metric_specs
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
            plans[x.experiment_id] = CellPlan(
                tuple(g.definition.name for g in x.config.metric_goals),
                x.config.analysis.cuped_window_days * 86_400.0,
            )
            if x.status in (Status.CREATED, Status.RUNNING):
                specs[x.project].extend(metric_specs(x))
        self.specs = dict(specs)
        self.plans = plans
