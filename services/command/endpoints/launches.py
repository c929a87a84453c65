"""CreateLaunch, GetLaunch, UpdateLaunch, DeleteLaunch, ListLaunches, StartLaunch, StopLaunch."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.command.endpoints.common import (
    check_quota,
    execute,
    handlers,
    listing,
    versioned,
)
from services.command.handlers import CommandHandlers, require
from shared.domain import launch as agg
from shared.domain.arn import ArnScheme
from shared.domain.events import (
    LaunchConfig,
    LaunchGroup,
    MetricDefinition,
    ScheduledStep,
    SegmentOverride,
)
from shared.domain.launch import Launch
from shared.edge.app import Call
from shared.wire import launches as wire
from shared.wire import render
from shared.wire.common import parse
from shared.wire.metrics import MetricDefinitionConfig


def metric_definition(d: MetricDefinitionConfig) -> MetricDefinition:
    return MetricDefinition(d.name, d.entityIdKey, d.valueKey, d.eventPattern or None, d.unitLabel)


def even_split(names: list[str]) -> dict[str, int]:
    share, rest = divmod(agg.TOTAL_WEIGHT, len(names))
    return {n: share + (rest if i == 0 else 0) for i, n in enumerate(names)}


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


def groups(configs: list[wire.LaunchGroupConfig]) -> tuple[LaunchGroup, ...]:
    return tuple(LaunchGroup(g.name, g.description, g.feature, g.variation) for g in configs)


def body(h: CommandHandlers, launch: Launch) -> dict[str, Any]:
    return render.launch(launch, h.arns)


async def create_launch(call: Call) -> Any:
    req = parse(wire.CreateLaunchRequest, call.input)
    h = handlers(call)
    project = req.project
    h.project(project)

    def decide(existing: Launch | None, now: datetime) -> list[object]:
        live = sum(1 for _ in h.view.live_launches(project))
        check_quota(live, h.quotas.launches_per_project, "launches per project")
        launch_groups = groups(req.groups)
        config = LaunchConfig(
            description=req.description,
            groups=launch_groups,
            metric_monitors=tuple(
                metric_definition(m.metricDefinition) for m in req.metricMonitors
            ),
            randomization_salt=req.randomizationSalt or req.name,
            steps=steps(req.scheduledSplitsConfig, h.arns)
            if req.scheduledSplitsConfig
            else (ScheduledStep(now, even_split([g.name for g in launch_groups])),),
        )
        return list(
            agg.create_launch(
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
        lambda: h.view.launches.get((project, req.name)),
        decide,
    )
    return versioned("launch", body(h, h.launch(project, req.name)))


async def get_launch(call: Call) -> Any:
    h = handlers(call)
    project = call.input["project"]
    return versioned("launch", body(h, h.launch(project, call.input["launch"])))


async def update_launch(call: Call) -> Any:
    req = parse(wire.UpdateLaunchRequest, call.input)
    h = handlers(call)
    project = req.project

    def decide(state: Launch | None, now: datetime) -> list[object]:
        launch = require(state)
        old = launch.config
        config = LaunchConfig(
            description=old.description if req.description is None else req.description,
            groups=old.groups if req.groups is None else groups(req.groups),
            metric_monitors=old.metric_monitors
            if req.metricMonitors is None
            else tuple(metric_definition(m.metricDefinition) for m in req.metricMonitors),
            randomization_salt=req.randomizationSalt or old.randomization_salt,
            steps=old.steps
            if req.scheduledSplitsConfig is None
            else steps(req.scheduledSplitsConfig, h.arns),
        )
        return list(
            agg.update_launch(
                launch,
                config,
                feature=lambda f: h.view.feature(project, f),
                segments=h.live_segment_names(),
                now=now,
            )
        )

    await execute(
        call,
        agg.stream(project, req.launch),
        lambda: h.launch(project, req.launch),
        decide,
    )
    return versioned("launch", body(h, h.launch(project, req.launch)))


async def delete_launch(call: Call) -> Any:
    h = handlers(call)
    project = call.input["project"]
    name = call.input["launch"]
    await execute(
        call,
        agg.stream(project, name),
        lambda: h.launch(project, name),
        lambda state, now: agg.delete_launch(require(state), now),
    )
    return {}


async def list_launches(call: Call) -> Any:
    h = handlers(call)
    project = call.input["project"]
    h.project(project)
    status = call.input.get("status")
    launches = [x for x in h.view.live_launches(project) if status is None or x.status == status]
    return listing(call, "launches", launches, lambda x: x.name, lambda x: body(h, x), default=100)


async def start_launch(call: Call) -> Any:
    h = handlers(call)
    project = call.input["project"]
    name = call.input["launch"]

    def decide(state: Launch | None, now: datetime) -> list[object]:
        busy = {
            f
            for x in h.view.live_launches(project)
            if x.status == "RUNNING" and x.name != name
            for f in x.features
        }
        return list(agg.start_launch(require(state), features_in_running_launches=busy, now=now))

    await execute(
        call,
        agg.stream(project, name),
        lambda: h.launch(project, name),
        decide,
    )
    return versioned("launch", body(h, h.launch(project, name)))


async def stop_launch(call: Call) -> Any:
    req = parse(wire.StopLaunchRequest, call.input)
    h = handlers(call)
    project = req.project
    await execute(
        call,
        agg.stream(project, req.launch),
        lambda: h.launch(project, req.launch),
        lambda state, now: agg.stop_launch(
            require(state), desired_state=req.desiredState, reason=req.reason, now=now
        ),
    )
    ended = h.launch(project, req.launch).ended_at
    return {"endedTime": render.timestamp(ended) if ended else None}
