"""Which observations a project's events would yield: its experiments' metric specs.

PutProjectEvents refuses an event whose observation would break a limit
(``shared/domain/limits.py``), so it needs the same specs the processor's router
applies: every metric goal of each experiment that is CREATED or RUNNING. They
are compiled when a project is first asked for after its configuration changed,
never per request.
"""

from __future__ import annotations

from typing import Any

from shared.domain.observations import MetricSpec, metric_specs
from shared.domain.projection import ConfigView
from shared.domain.resources import ResourceKind
from shared.domain.values import Status

# As the processor's router (services/processor/config.py): CREATED experiments
# collect pre-exposure events for CUPED, RUNNING ones their outcomes.
_OBSERVED = (Status.CREATED, Status.RUNNING)


class MetricSpecs:
    def __init__(self, view: ConfigView) -> None:
        self.view = view
        self._specs: dict[str, tuple[MetricSpec, ...]] = {}
        view.listeners.append(self._on_change)

    def _on_change(self, kind: str, key: Any) -> None:
        # StrEnum members equal the kind strings the view passes.
        if kind == ResourceKind.EXPERIMENT:
            self._specs.pop(key[0], None)
        elif kind == ResourceKind.PROJECT:
            self._specs.pop(key, None)

    def of(self, project: str) -> tuple[MetricSpec, ...]:
        specs = self._specs.get(project)
        if specs is None:
            specs = self._specs[project] = tuple(
                spec
                for experiment in self.view.live_experiments(project)
                if experiment.status in _OBSERVED
                for spec in metric_specs(experiment)
            )
        return specs
