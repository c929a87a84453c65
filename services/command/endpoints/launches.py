"""Launches: Create, Get, Update, Delete, List, Start, Stop."""

from __future__ import annotations

from typing import Any

from services.command.application import ControlPlane, LaunchChanges
from services.command.endpoints.common import application, context, listing, versioned
from shared.domain.arn import ArnScheme
from shared.domain.events import LaunchGroup, MetricDefinition, ScheduledStep, SegmentOverride
from shared.domain.launch import Launch
from shared.edge.app import Call
from shared.wire import launches as wire
from shared.wire import render
from shared.wire.common import parse
from shared.wire.metrics import MetricDefinitionConfig


def metric_definition(d: MetricDefinitionConfig) -> MetricDefinition:
    return MetricDefinition(d.name, d.entityIdKey, d.valueKey, d.eventPattern or None, d.unitLabel)


def steps(config: wire.ScheduledSplitsLaunchConfig, arns: ArnScheme) -> tuple[ScheduledStep, ...]:
    return tuple(
        ScheduledStep(
            start_time=s.startTime,
            group_weights=dict(s.groupWeights),
            segment_overrides=tuple(
                SegmentOverride(
                    arns.segment_name(o.segment, "segmentOverrides.segment"),
                    o.evaluationOrder,
                    dict(o.weights),
                )
                for o in s.segmentOverrides
            ),
        )
        for s in config.steps
    )


def changes(
    req: wire.CreateLaunchRequest | wire.UpdateLaunchRequest, arns: ArnScheme
) -> LaunchChanges:
    monitors = req.metricMonitors
    return LaunchChanges(
        description=req.description,
        groups=None
        if req.groups is None
        else tuple(LaunchGroup(g.name, g.description, g.feature, g.variation) for g in req.groups),
        metric_monitors=None
        if monitors is None
        else tuple(metric_definition(m.metricDefinition) for m in monitors),
        randomization_salt=req.randomizationSalt,
        steps=None if req.scheduledSplitsConfig is None else steps(req.scheduledSplitsConfig, arns),
    )


def body(app: ControlPlane, launch: Launch) -> dict[str, Any]:
    return render.launch(launch, app.arns)


async def create_launch(call: Call) -> Any:
    req = parse(wire.CreateLaunchRequest, call.input)
    app = application(call)
    launch = await app.create_launch(
        req.project, req.name, changes(req, app.arns), tags=req.tags, context=context(call)
    )
    return versioned("launch", body(app, launch))


async def get_launch(call: Call) -> Any:
    app = application(call)
    return versioned(
        "launch", body(app, app.get_launch(call.input["project"], call.input["launch"]))
    )


async def update_launch(call: Call) -> Any:
    req = parse(wire.UpdateLaunchRequest, call.input)
    app = application(call)
    launch = await app.update_launch(req.project, req.launch, changes(req, app.arns), context(call))
    return versioned("launch", body(app, launch))


async def delete_launch(call: Call) -> Any:
    await application(call).delete_launch(
        call.input["project"], call.input["launch"], context(call)
    )
    return {}


async def list_launches(call: Call) -> Any:
    app = application(call)
    launches = app.list_launches(call.input["project"], call.input.get("status"))
    return listing(
        call, "launches", launches, lambda x: x.name, lambda x: body(app, x), default=100
    )


async def start_launch(call: Call) -> Any:
    app = application(call)
    launch = await app.start_launch(call.input["project"], call.input["launch"], context(call))
    return versioned("launch", body(app, launch))


async def stop_launch(call: Call) -> Any:
    req = parse(wire.StopLaunchRequest, call.input)
    launch = await application(call).stop_launch(
        req.project,
        req.launch,
        desired_state=req.desiredState,
        reason=req.reason,
        context=context(call),
    )
    return {"endedTime": render.timestamp(launch.ended_at) if launch.ended_at else None}
