"""Metric events -> observations: which experiment metric a custom event feeds.

Each experiment metric goal names where the entity id and the value sit in the
event's JSON ``data`` (``entityIdKey``, ``valueKey``, "a.b.c" or "$.a.b.c") and
which events count (``eventPattern``). Pure: the processor applies it.

By metric type: sums and averages read the value; event totals, unique conversions and
retention count events and read none; a funnel's observation carries the index of the step
its event matched (one observation per matching step); a formula has no events of its own.
An experiment's exposure event yields an observation of the reserved ``EXPOSURE`` metric.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from shared.domain.experiment import Experiment
from shared.domain.patterns import Pattern, compile_pattern
from shared.domain.stats.vocabulary import MetricType

# The reserved metric of an experiment's exposure events (U+0000 cannot be in a metric name).
EXPOSURE = "\x00exposure"


class Reading(Enum):
    """What an observation of a metric carries."""

    VALUE = "value"  # the number at ``valueKey``
    ONE = "one"  # the event itself: counted, its value not read
    STEP = "step"  # the funnel step the event matched


_READING = {
    MetricType.SUM: Reading.VALUE,
    MetricType.AVERAGE: Reading.VALUE,
    MetricType.COUNT: Reading.ONE,
    MetricType.UNIQUE_CONVERSIONS: Reading.ONE,
    MetricType.RETENTION: Reading.ONE,
    MetricType.FUNNEL: Reading.STEP,
}


@dataclass(frozen=True, slots=True)
class MetricSpec:
    experiment_key: str
    metric: str
    entity_id_key: tuple[str, ...]
    value_key: tuple[str, ...]
    pattern: Pattern | None
    reading: Reading = Reading.VALUE
    # A funnel's steps after the first (the definition's ``pattern``).
    steps: tuple[Pattern, ...] = ()


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
        reading = _READING.get(goal.metric_type)
        if reading is None:
            continue  # a formula reads its parts' numbers, not events
        d = goal.definition
        pattern = (
            compile_pattern(d.event_pattern, field="eventPattern") if d.event_pattern else None
        )
        steps = tuple(compile_pattern(p, field="funnelSteps") for p in goal.funnel_steps)
        specs.append(
            MetricSpec(
                key,
                d.name,
                split_path(d.entity_id_key),
                split_path(d.value_key),
                pattern,
                reading,
                steps,
            )
        )
    exposure = experiment.config.exposure
    if exposure is not None:
        specs.append(
            MetricSpec(
                key,
                EXPOSURE,
                split_path(exposure.entity_id_key),
                (),
                compile_pattern(exposure.event_pattern, field="exposureEvent.eventPattern"),
                Reading.ONE,
            )
        )
    return specs


def _entity(data: Mapping[str, object], spec: MetricSpec) -> str | None:
    entity = lookup(data, spec.entity_id_key)
    if isinstance(entity, bool) or not isinstance(entity, str | int) or entity == "":
        return None
    return str(entity)


def observe(specs: Sequence[MetricSpec], data: Mapping[str, object]) -> Iterator[Observation]:
    for spec in specs:
        if spec.reading is Reading.STEP:
            yield from _steps(spec, data)
            continue
        if spec.pattern is not None and not spec.pattern.matches(data):
            continue
        entity = _entity(data, spec)
        if entity is None:
            continue
        if spec.reading is Reading.ONE:
            yield Observation(spec.experiment_key, spec.metric, entity, 1.0)
            continue
        value = lookup(data, spec.value_key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        yield Observation(spec.experiment_key, spec.metric, entity, float(value))


def _steps(spec: MetricSpec, data: Mapping[str, object]) -> Iterator[Observation]:
    """One observation per funnel step the event matches, its value the step's index."""
    patterns = (spec.pattern, *spec.steps)
    entity: str | None = None
    for index, pattern in enumerate(patterns):
        if pattern is None or not pattern.matches(data):
            continue
        if entity is None:
            entity = _entity(data, spec)
            if entity is None:
                return
        yield Observation(spec.experiment_key, spec.metric, entity, float(index))
