"""Results endpoints: thin wrappers over the merged aggregate cells."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from services.results import report
from services.results.source import CellSource
from shared.config import Settings
from shared.domain import queries
from shared.domain.cells import (
    ASSIGNED,
    CROSSED,
    OVER,
    Cell,
    CellKey,
    Cumulative,
    cumulative,
    cumulative_series,
)
from shared.domain.experiment import Experiment
from shared.domain.stats.sums import InconsistentSums
from shared.domain.stats.vocabulary import CapKind
from shared.edge.app import Call
from shared.errors import InternalServerException, ValidationException
from shared.follower import ConfigFollower
from shared.observability import RESULTS_COMPUTATION, RESULTS_INCONSISTENT
from shared.wire.common import parse
from shared.wire.results import GetExperimentResultsRequest

log = logging.getLogger(__name__)

MAX_WINDOW = timedelta(days=30)
DEFAULT_PERIOD = 86_400
MIN_PERIOD = 60


def find_experiment(call: Call) -> Experiment:
    follower: ConfigFollower = call.state.follower
    return queries.experiment(follower.view, call.input["project"], call.input["experiment"])


@contextlib.contextmanager
def consistent_aggregates(experiment: Experiment) -> Iterator[None]:
    """Cells are exact sums, so a negative count or M2 means corrupted aggregates: said
    loudly, counted, and answered with an error rather than with a made-up figure."""
    try:
        yield
    except InconsistentSums as exc:
        RESULTS_INCONSISTENT.inc()
        log.error("inconsistent aggregates for experiment %s: %s", experiment.experiment_id, exc)
        raise InternalServerException(
            f"the aggregates of experiment {experiment.name} are inconsistent: {exc}"
        ) from None
    except OverflowError:
        # Exact sums never overflow; a moment read from them can exceed a double.
        raise InternalServerException(
            f"a moment of experiment {experiment.name} exceeds the range of a double"
        ) from None


def _summary(c: Cumulative) -> dict[str, Any]:
    m = c.comoments
    if c.matrix is not None:
        # A ratio metric: the co-moments of (m, d, m_pre, d_pre).
        r = c.matrix
        return {
            "n": r.n,
            "means": list(r.means),
            "covariance": [[r.covariance(i, j) for j in range(4)] for i in range(4)],
            "conversions": c.conversions,
        }
    return {
        "n": m.n,
        "mean": m.mean_y,
        "variance": m.variance_y,
        "m2": m.m2_y,
        "conversions": c.conversions,
        "covariateMean": m.mean_x,
        "covariateVariance": m.variance_x,
        "covariance": m.covariance,
    }


def experiment_aggregates(call: Call) -> Any:
    """Per metric and treatment: the cumulative sufficient statistics, and per bucket."""
    experiment = find_experiment(call)
    source: CellSource = call.state.source
    key = experiment.experiment_id
    cells = source.cells(key)
    metrics: dict[str, dict[str, Any]] = {}
    with consistent_aggregates(experiment):
        for goal in experiment.config.metric_goals:
            metrics[goal.definition.name] = _arm_summaries(experiment, cells, goal.definition.name)
    return {
        "experiment": experiment.name,
        "experimentKey": key,
        "bucketSeconds": source.bucket_seconds.get(key),
        "metrics": metrics,
    }


def _arm_summaries(
    experiment: Experiment, cells: Mapping[CellKey, Cell], metric: str
) -> dict[str, Any]:
    per_treatment: dict[str, Any] = {}
    for treatment in (t.name for t in experiment.config.treatments):
        mine = {b: cell for (m, t, b), cell in cells.items() if m == metric and t == treatment}
        buckets = sorted(mine)
        series = cumulative_series(mine, [b + 1 for b in buckets])
        per_treatment[treatment] = {
            **_summary(cumulative(mine.values())),
            "series": [{"bucket": b, **_summary(c)} for b, c in zip(buckets, series, strict=True)],
        }
    return per_treatment


def _window(
    experiment: Experiment, start: datetime | None, end: datetime | None
) -> tuple[float, float]:
    if experiment.started_at is None:
        raise NotStarted()
    begin = (start or experiment.started_at).timestamp()
    stop = (end or experiment.ended_at or datetime.now(UTC)).timestamp()
    stop = min(stop, time.time())
    if stop - experiment.started_at.timestamp() > MAX_WINDOW.total_seconds() + 1:
        # GetExperimentResults: "no longer than 30 days after the experiment start time".
        stop = experiment.started_at.timestamp() + MAX_WINDOW.total_seconds()
    if stop < begin:
        raise ValidationException("endTime is before startTime", field="endTime")
    return begin, stop


class NotStarted(Exception):
    pass


def _collect_looks(
    call: Call,
    experiment: Experiment,
    metrics: list[str],
    window: tuple[float, float],
    period: int | None,
) -> report.Looks:
    """The cumulative statistics of every metric and treatment at each period's end."""
    source: CellSource = call.state.source
    settings: Settings = call.state.settings
    key = experiment.experiment_id
    bucket_seconds = source.bucket_seconds.get(key, settings.bucket_seconds)
    times = report.look_times(*window, _period(period, bucket_seconds))
    treatments = [t.name for t in experiment.config.treatments]
    # The reserved counts ride along for the exposure health checks and absolute caps.
    goals = experiment.config.metric_goals
    over = [g.definition.name + OVER for g in goals if g.cap and g.cap.kind is CapKind.ABSOLUTE]
    names = [*metrics, ASSIGNED, CROSSED, *over]
    rollups = source.rollups(key)
    looks = report.collect(rollups, names, treatments, times)
    percentiles = {
        g.definition.name: g.cap.value
        for g in goals
        if g.cap is not None and g.cap.kind is CapKind.PERCENTILE
    }
    return report.with_caps(looks, rollups, percentiles, treatments)


def _gate_settings(call: Call) -> report.GateSettings:
    settings: Settings = call.state.settings
    return report.GateSettings(
        max(settings.results_min_entities, 2), settings.results_min_conversions
    )


def _gates_pass(call: Call, experiment: Experiment, looks: report.Looks, metric: str) -> bool:
    """The experiment has run long enough and every variation has the entities results need;
    a binary metric's conversions are its own gate, in the analysis (``gates.py``)."""
    settings: Settings = call.state.settings
    assert experiment.started_at is not None
    if time.time() - experiment.started_at.timestamp() < settings.results_min_seconds:
        return False
    goal = next(g for g in experiment.config.metric_goals if g.definition.name == metric)
    return all(
        report.exposed_count(looks, goal, t.name) >= max(settings.results_min_entities, 2)
        for t in experiment.config.treatments
    )


def _period(period: int | None, bucket_seconds: int) -> int:
    """Any whole number of seconds from a minute up: cells roll up from minutes, so no
    period needs to be a multiple of anything. Where buckets are shorter than a minute
    (the test suite's stack), looks may be as fine as one bucket."""
    if period is None:
        return DEFAULT_PERIOD
    shortest = min(MIN_PERIOD, bucket_seconds)
    if period < shortest:
        raise ValidationException(f"period must be at least {shortest} seconds", field="period")
    return period


def get_experiment_results(call: Call) -> Any:
    req = parse(GetExperimentResultsRequest, call.input)
    experiment = find_experiment(call)
    metric = req.metricNames[0]
    metrics = [g.definition.name for g in experiment.config.metric_goals]
    if metric not in metrics:
        raise ValidationException(
            f"experiment {experiment.name} has no metric {metric!r}", field="metricNames"
        )
    treatments = [t.name for t in experiment.config.treatments]
    unknown = [t for t in req.treatmentNames if t not in treatments]
    if unknown:
        raise ValidationException(
            f"experiment {experiment.name} has no treatments {unknown}", field="treatmentNames"
        )
    started = experiment.started_at
    if req.endTime is not None and started is not None and req.endTime - started > MAX_WINDOW:
        # GetExperimentResults: endTime "must be no longer than 30 days after the
        # experiment start time".
        raise ValidationException(
            "endTime must be at most 30 days after the experiment's start", field="endTime"
        )
    empty = {"resultsData": [], "reports": [], "timestamps": [], "details": report.NOT_ENOUGH}
    try:
        window = _window(experiment, req.startTime, req.endTime)
    except NotStarted:
        return empty
    with RESULTS_COMPUTATION.labels("GetExperimentResults").time():
        # The family that multiple testing corrects over is every treatment of every
        # metric goal, whichever metric is asked for: the same family as /analysis,
        # so one hypothesis never gets two adjusted p-values.
        with consistent_aggregates(experiment):
            looks = _collect_looks(call, experiment, metrics, window, req.period)
        if not _gates_pass(call, experiment, looks, metric):
            return empty
        analysis = report.run(experiment, looks, metrics, _gate_settings(call))
    gate = analysis.gates.get(metric)
    if gate is not None and not gate.passed:
        return {**empty, "details": gate.message}
    body = report.evidently_results(
        analysis,
        looks,
        metric,
        req.treatmentNames,
        req.resultStats or ["BaseStat", "TreatmentEffect", "ConfidenceInterval", "PValue"],
        req.reportNames or [],
        report.exposure_health(experiment, looks),
        report.cap_report(experiment, looks),
    )
    return body


def experiment_analysis(call: Call) -> Any:
    """The full analysis: every metric, raw and adjusted p-values, power, projected run time.

    Query: ``asOf`` (epoch seconds: results as of that time, from the per-bucket
    aggregates), ``period`` (seconds), ``mde`` (relative, default 0.05),
    ``dailyEntities`` (for the run-time projection).
    """
    experiment = find_experiment(call)
    query = call.input

    def number(name: str) -> float | None:
        value = query.get(name)
        return None if value is None else float(value)

    as_of_value = number("asOf")
    as_of = None
    if as_of_value is not None:
        try:
            as_of = datetime.fromtimestamp(as_of_value, UTC)
        except (OverflowError, ValueError, OSError):
            raise ValidationException(
                "asOf must be epoch seconds before the year 10000", field="asOf"
            ) from None
    if as_of is not None and experiment.started_at is not None and as_of <= experiment.started_at:
        return {"experiment": experiment.name, "details": report.NOT_ENOUGH}
    try:
        window = _window(experiment, None, as_of)
    except NotStarted:
        return {"experiment": experiment.name, "details": report.NOT_ENOUGH}
    period_value = number("period")
    metrics = [g.definition.name for g in experiment.config.metric_goals]
    with consistent_aggregates(experiment):
        looks = _collect_looks(
            call, experiment, metrics, window, int(period_value) if period_value else None
        )
    if not all(_gates_pass(call, experiment, looks, m) for m in metrics):
        return {"experiment": experiment.name, "details": report.NOT_ENOUGH}
    with RESULTS_COMPUTATION.labels("Analysis").time():
        analysis = report.run(experiment, looks, metrics, _gate_settings(call))
    daily = number("dailyEntities")
    return report.full_analysis(
        experiment,
        analysis,
        looks,
        mde=number("mde") or 0.05,
        daily_entities=daily,
        as_of=as_of,
    )
