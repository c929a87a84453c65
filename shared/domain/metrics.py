"""Metric definitions shared by launches (monitors) and experiments (goals)."""

from __future__ import annotations

from collections.abc import Sequence

from shared.domain.errors import Invalid
from shared.domain.events import MetricDefinition
from shared.domain.patterns import compile_pattern


def check_metric_definitions(definitions: Sequence[MetricDefinition], field: str) -> None:
    names = [d.name for d in definitions]
    if len(set(names)) != len(names):
        raise Invalid(f"metric names in {field} must be unique", field=field)
    for d in definitions:
        if d.event_pattern:
            compile_pattern(d.event_pattern, field=f"{field}.eventPattern", max_length=1024)
