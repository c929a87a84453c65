"""Metric events -> observations: which experiment metric a custom event feeds.

Each experiment metric goal names where the entity id and the value sit in the
event's JSON ``data`` (``entityIdKey``, ``valueKey``, "a.b.c" or "$.a.b.c") and
which events count (``eventPattern``). Pure: the processor applies it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from shared.domain.experiment import Experiment
from shared.domain.patterns import Pattern, compile_pattern


@dataclass(frozen=True, slots=True)
class MetricSpec:
    experiment_key: str
    metric: str
    entity_id_key: tuple[str, ...]
    value_key: tuple[str, ...]
    pattern: Pattern | None


@dataclass(frozen=True, slots=True)
class Observation:
    experiment_key: str
    metric: str
    entity_id: str
    value: float


def split_path(path: str) -> tuple[str, ...]:
    return tuple(part for part in path.removeprefix("$").split(".") if part)


def lookup(data: Mapping[str, object], path: tuple[str, ...]) -> object | None:
    current: object = data
    for part in path:
        # dict, not Mapping: event data is decoded JSON, and an ABC isinstance check
        # was 7% of the processor's CPU (py-spy, under the ingestion benchmark).
        if not isinstance(current, dict) or part not in current:
            return None
        current = current[part]
    return current


def metric_specs(experiment: Experiment) -> list[MetricSpec]:
    key = experiment.experiment_id
    specs = []
    for goal in experiment.config.metric_goals:
        d = goal.definition
        pattern = (
            compile_pattern(d.event_pattern, field="eventPattern") if d.event_pattern else None
        )
        specs.append(
            MetricSpec(key, d.name, split_path(d.entity_id_key), split_path(d.value_key), pattern)
        )
    return specs


def observe(specs: Sequence[MetricSpec], data: Mapping[str, object]) -> Iterator[Observation]:
    for spec in specs:
        if spec.pattern is not None and not spec.pattern.matches(data):
            continue
        entity = lookup(data, spec.entity_id_key)
        value = lookup(data, spec.value_key)
        if isinstance(entity, bool) or not isinstance(entity, str | int) or entity == "":
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        yield Observation(spec.experiment_key, spec.metric, str(entity), float(value))
