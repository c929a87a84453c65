"""Experiments: Evidently's eight operations, and seed 004's declare-winner and archive."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from services.command.endpoints.common import (
    check_quota,
    execute,
    handlers,
    listing,
    versioned,
)
from services.command.endpoints.launches import even_split, metric_definition
from services.command.handlers import CommandHandlers, require
from shared.domain import experiment as agg
from shared.domain.events import AnalysisConfig, ExperimentConfig, MetricGoal, Treatment
from shared.domain.experiment import Experiment
from shared.edge.app import Call
from shared.errors import ValidationException
from shared.wire import experiments as wire
from shared.wire import render
from shared.wire.common import parse

T = TypeVar("T")

# Evidently: samplingRate is the share of the available audience; omitted, all of it.
DEFAULT_SAMPLING_RATE = 100_000


def treatments(configs: list[wire.TreatmentConfig]) -> tuple[Treatment, ...]:
    return tuple(Treatment(t.name, t.description, t.feature, t.variation) for t in configs)


def metric_goals(configs: list[wire.MetricGoalConfig]) -> tuple[MetricGoal, ...]:
    return tuple(
        MetricGoal(metric_definition(g.metricDefinition), g.desiredChange or "INCREASE")
        for g in configs
    )


def analysis(config: wire.AnalysisConfig | None, base: AnalysisConfig) -> AnalysisConfig:
    if config is None:
        return base

    def pick(given: T | None, current: T) -> T:
        return current if given is None else given

    return AnalysisConfig(
        method=pick(config.method, base.method),
        confidence_level=pick(config.confidenceLevel, base.confidence_level),
        correction=pick(config.correction, base.correction),
        one_sided=pick(config.oneSided, base.one_sided),
        tuning_sample_size=pick(config.tuningSampleSize, base.tuning_sample_size),
        prior_mean=pick(config.priorMean, base.prior_mean),
        prior_variance=pick(config.priorVariance, base.prior_variance),
    )


def body(h: CommandHandlers, x: Experiment) -> dict[str, Any]:
    return render.experiment(x, h.arns, h.clock())


async def create_experiment(call: Call) -> Any:
    req = parse(wire.CreateExperimentRequest, call.input)
    h = handlers(call)
    project = req.project
    h.project(project)

    def decide(existing: Experiment | None, now: datetime) -> list[object]:
        live = sum(1 for _ in h.view.live_experiments(project))
        check_quota(live, h.quotas.experiments_per_project, "experiments per project")
        ts = treatments(req.treatments)
        ab = req.onlineAbConfig
        config = ExperimentConfig(
            description=req.description,
            treatments=ts,
            metric_goals=metric_goals(req.metricGoals),
            control_treatment=(ab.controlTreatmentName if ab else None) or ts[0].name,
            treatment_weights=dict(ab.treatmentWeights)
            if ab and ab.treatmentWeights
            else even_split([t.name for t in ts]),
            randomization_salt=req.randomizationSalt or req.name,
            sampling_rate=DEFAULT_SAMPLING_RATE if req.samplingRate is None else req.samplingRate,
            segment=h.arns.segment_name(req.segment) if req.segment else None,
            analysis=analysis(req.analysisConfig, AnalysisConfig()),
            sticky_assignment=True if req.stickyAssignment is None else req.stickyAssignment,
        )
        return list(
            agg.create_experiment(
                existing,
                project=project,
                name=req.name,
                config=config,
                tags=req.tags,
                feature=lambda f: h.view.feature(project, f),
                segments=h.live_segment_names(),
                now=now,
            )
        )

    await execute(
        call,
        agg.stream(project, req.name),
        lambda: h.view.experiments.get((project, req.name)),
        decide,
    )
    return versioned("experiment", body(h, h.experiment(project, req.name)))


async def get_experiment(call: Call) -> Any:
    h = handlers(call)
    project = call.input["project"]
    return versioned("experiment", body(h, h.experiment(project, call.input["experiment"])))


async def update_experiment(call: Call) -> Any:
    req = parse(wire.UpdateExperimentRequest, call.input)
    if req.removeSegment and req.segment:
        raise ValidationException("give segment or removeSegment, not both", field="removeSegment")
    h = handlers(call)
    project = req.project

    def decide(state: Experiment | None, now: datetime) -> list[object]:
        x = require(state)
        old = x.config
        ts = old.treatments if req.treatments is None else treatments(req.treatments)
        ab = req.onlineAbConfig
        weights = old.treatment_weights
        if ab and ab.treatmentWeights:
            weights = dict(ab.treatmentWeights)
        elif req.treatments is not None:
            weights = even_split([t.name for t in ts])
        segment = old.segment
        if req.removeSegment:
            segment = None
        elif req.segment:
            segment = h.arns.segment_name(req.segment)
        config = ExperimentConfig(
            description=old.description if req.description is None else req.description,
            treatments=ts,
            metric_goals=old.metric_goals
            if req.metricGoals is None
            else metric_goals(req.metricGoals),
            control_treatment=(ab.controlTreatmentName if ab else None) or old.control_treatment,
            treatment_weights=weights,
            randomization_salt=req.randomizationSalt or old.randomization_salt,
            sampling_rate=old.sampling_rate if req.samplingRate is None else req.samplingRate,
            segment=segment,
            analysis=analysis(req.analysisConfig, old.analysis),
            sticky_assignment=old.sticky_assignment
            if req.stickyAssignment is None
            else req.stickyAssignment,
        )
        return list(
            agg.update_experiment(
                x,
                config,
                feature=lambda f: h.view.feature(project, f),
                segments=h.live_segment_names(),
                now=now,
            )
        )

    await execute(
        call,
        agg.stream(project, req.experiment),
        lambda: h.experiment(project, req.experiment),
        decide,
    )
    return versioned("experiment", body(h, h.experiment(project, req.experiment)))


async def delete_experiment(call: Call) -> Any:
    h = handlers(call)
    project = call.input["project"]
    name = call.input["experiment"]
    await execute(
        call,
        agg.stream(project, name),
        lambda: h.experiment(project, name),
        lambda state, now: agg.delete_experiment(require(state), now),
    )
    return {}


async def list_experiments(call: Call) -> Any:
    h = handlers(call)
    project = call.input["project"]
    h.project(project)
    now = h.clock()
    status = call.input.get("status")
    # Seed 004: archived experiments are hidden from view unless asked for.
    archived = call.input.get("includeArchived", False)
    chosen = [
        x
        for x in h.view.live_experiments(project)
        if (status is None or x.status_at(now) == status) and (archived or not x.archived)
    ]
    return listing(call, "experiments", chosen, lambda x: x.name, lambda x: body(h, x), default=100)


async def start_experiment(call: Call) -> Any:
    req = parse(wire.StartExperimentRequest, call.input)
    h = handlers(call)
    project = req.project

    def decide(state: Experiment | None, now: datetime) -> list[object]:
        x = require(state)
        busy = any(
            other.name != x.name and other.status_at(now) == "RUNNING"
            for other in h.view.experiments_of_feature(project, x.feature)
        )
        return list(
            agg.start_experiment(
                x,
                analysis_complete_time=req.analysisCompleteTime,
                feature_has_running_experiment=busy,
                now=now,
            )
        )

    await execute(
        call,
        agg.stream(project, req.experiment),
        lambda: h.experiment(project, req.experiment),
        decide,
    )
    started = h.experiment(project, req.experiment).started_at
    return {"startedTime": render.timestamp(started) if started else None}


async def stop_experiment(call: Call) -> Any:
    req = parse(wire.StopExperimentRequest, call.input)
    h = handlers(call)
    project = req.project
    await execute(
        call,
        agg.stream(project, req.experiment),
        lambda: h.experiment(project, req.experiment),
        lambda state, now: agg.stop_experiment(
            require(state),
            desired_state=req.desiredState,
            reason=req.reason,
            ended_reason=req.endedReason,
            now=now,
        ),
    )
    ended = h.experiment(project, req.experiment).ended_at
    return {"endedTime": render.timestamp(ended) if ended else None}


async def declare_winner(call: Call) -> Any:
    req = parse(wire.DeclareWinnerRequest, call.input)
    h = handlers(call)
    project = req.project
    await execute(
        call,
        agg.stream(project, req.experiment),
        lambda: h.experiment(project, req.experiment),
        lambda state, now: agg.declare_winner(require(state), req.treatment, now),
    )
    return versioned("experiment", body(h, h.experiment(project, req.experiment)))


async def archive_experiment(call: Call) -> Any:
    h = handlers(call)
    project = call.input["project"]
    name = call.input["experiment"]
    await execute(
        call,
        agg.stream(project, name),
        lambda: h.experiment(project, name),
        lambda state, now: agg.archive_experiment(require(state), now),
    )
    return versioned("experiment", body(h, h.experiment(project, name)))
