"""Experiments: Evidently's eight operations, and seed 004's declare-winner and archive."""

from __future__ import annotations

from typing import Any

from services.command.application import AnalysisChanges, ControlPlane, ExperimentChanges
from services.command.endpoints.common import application, context, listing, versioned
from services.command.endpoints.launches import metric_definition
from shared.domain.events import (
    ExposureEvent,
    MetricCap,
    MetricFormula,
    MetricGoal,
    Treatment,
)
from shared.domain.experiment import Experiment, lab_id
from shared.domain.stats.vocabulary import DesiredChange, MetricType
from shared.edge.app import Call
from shared.wire import experiments as wire
from shared.wire import render
from shared.wire.common import parse


def analysis(config: wire.AnalysisConfig | None) -> AnalysisChanges | None:
    if config is None:
        return None
    return AnalysisChanges(
        method=config.method,
        confidence_level=config.confidenceLevel,
        correction=config.correction,
        one_sided=config.oneSided,
        tuning_sample_size=config.tuningSampleSize,
        prior_mean=config.priorMean,
        prior_variance=config.priorVariance,
        effect=config.effect,
        cuped=config.cuped,
        cuped_window_days=config.cupedWindowDays,
        prior=config.prior,
    )


def metric_goal(g: wire.MetricGoalConfig) -> MetricGoal:
    cap, formula = g.cap, g.formula
    return MetricGoal(
        metric_definition(g.metricDefinition),
        g.desiredChange or DesiredChange.INCREASE,
        metric_type=g.metricType or MetricType.SUM,
        role=g.role,
        goal=g.goal,
        window_seconds=g.conversionWindowSeconds,
        cap=MetricCap(cap.kind, cap.value) if cap else None,
        funnel_steps=tuple(g.funnelSteps or ()),
        formula=MetricFormula(formula.operator, formula.numerator, formula.denominator)
        if formula
        else None,
        retention_day=g.retentionDay,
    )


def exposure(event: wire.ExposureEvent | None) -> ExposureEvent | None:
    return ExposureEvent(event.eventPattern, event.entityIdKey) if event else None


def changes(
    req: wire.CreateExperimentRequest | wire.UpdateExperimentRequest, app: ControlPlane
) -> ExperimentChanges:
    ab = req.onlineAbConfig
    return ExperimentChanges(
        description=req.description,
        treatments=None
        if req.treatments is None
        else tuple(
            Treatment(t.name, t.description, t.feature, t.variation) for t in req.treatments
        ),
        metric_goals=None
        if req.metricGoals is None
        else tuple(metric_goal(g) for g in req.metricGoals),
        control_treatment=ab.controlTreatmentName if ab else None,
        treatment_weights=dict(ab.treatmentWeights) if ab and ab.treatmentWeights else None,
        randomization_salt=req.randomizationSalt,
        sampling_rate=req.samplingRate,
        segment=app.arns.segment_name(req.segment) if req.segment else None,
        remove_segment=bool(getattr(req, "removeSegment", False)),
        analysis=analysis(req.analysisConfig),
        sticky_assignment=req.stickyAssignment,
        exposure=exposure(req.exposureEvent),
        remove_exposure=bool(getattr(req, "removeExposureEvent", False)),
        hypothesis=req.hypothesis,
        links=req.links,
        subject_type=req.subjectType,
        parent_id=req.parentId,
    )


def body(app: ControlPlane, x: Experiment) -> dict[str, Any]:
    return render.experiment(x, app.arns, app.clock())


async def create_experiment(call: Call) -> Any:
    req = parse(wire.CreateExperimentRequest, call.input)
    app = application(call)
    experiment = await app.create_experiment(
        req.project, req.name, changes(req, app), tags=req.tags, context=context(call)
    )
    return versioned("experiment", body(app, experiment))


async def get_experiment(call: Call) -> Any:
    app = application(call)
    experiment = app.get_experiment(call.input["project"], call.input["experiment"])
    return versioned("experiment", body(app, experiment))


async def update_experiment(call: Call) -> Any:
    req = parse(wire.UpdateExperimentRequest, call.input)
    app = application(call)
    experiment = await app.update_experiment(
        req.project, req.experiment, changes(req, app), context(call)
    )
    return versioned("experiment", body(app, experiment))


async def delete_experiment(call: Call) -> Any:
    await application(call).delete_experiment(
        call.input["project"], call.input["experiment"], context(call)
    )
    return {}


async def list_experiments(call: Call) -> Any:
    app = application(call)
    chosen = app.list_experiments(
        call.input["project"], call.input.get("status"), call.input.get("includeArchived", False)
    )
    return listing(
        call, "experiments", chosen, lambda x: x.name, lambda x: body(app, x), default=100
    )


async def list_lab_experiments(call: Call) -> Any:
    app = application(call)
    # One lab however its id is spelled, so a page token works for every spelling.
    lab = lab_id(call.input["lab"])
    call.input = {**call.input, "lab": lab}
    key = call.principal.key if call.principal else None
    chosen = app.list_lab_experiments(
        lab, key.reaches if key else None, call.input.get("includeArchived", False)
    )
    return listing(
        call,
        "experiments",
        chosen,
        # Names repeat across projects; the pair does not, and orders the pages.
        lambda x: f"{x.project}/{x.name}",
        lambda x: body(app, x),
        default=100,
    )


async def start_experiment(call: Call) -> Any:
    req = parse(wire.StartExperimentRequest, call.input)
    experiment = await application(call).start_experiment(
        req.project, req.experiment, req.analysisCompleteTime, context(call)
    )
    started = experiment.started_at
    return {"startedTime": render.timestamp(started) if started else None}


async def stop_experiment(call: Call) -> Any:
    req = parse(wire.StopExperimentRequest, call.input)
    experiment = await application(call).stop_experiment(
        req.project,
        req.experiment,
        desired_state=req.desiredState,
        reason=req.reason,
        ended_reason=req.endedReason,
        context=context(call),
    )
    ended = experiment.ended_at
    return {"endedTime": render.timestamp(ended) if ended else None}


async def declare_winner(call: Call) -> Any:
    req = parse(wire.DeclareWinnerRequest, call.input)
    app = application(call)
    experiment = await app.declare_winner(req.project, req.experiment, req.treatment, context(call))
    return versioned("experiment", body(app, experiment))


async def archive_experiment(call: Call) -> Any:
    app = application(call)
    experiment = await app.archive_experiment(
        call.input["project"], call.input["experiment"], context(call)
    )
    return versioned("experiment", body(app, experiment))
