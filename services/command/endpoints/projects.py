"""Projects: Create, Get, Update, UpdateProjectDataDelivery, Delete, List."""

from __future__ import annotations

from typing import Any

from services.command.endpoints.common import (
    check_quota,
    execute,
    handlers,
    listing,
    versioned,
)
from services.command.handlers import CommandHandlers, require
from shared.domain import project as agg
from shared.domain.events import AppConfigResource, DataDelivery
from shared.domain.project import Project
from shared.edge.app import Call
from shared.errors import ValidationException
from shared.wire import projects as wire
from shared.wire import render
from shared.wire.common import parse


def data_delivery(
    config: wire.ProjectDataDeliveryConfig | wire.UpdateProjectDataDeliveryRequest | None,
) -> DataDelivery | None:
    if config is None or (config.cloudWatchLogs is None and config.s3Destination is None):
        return None
    if config.cloudWatchLogs is not None and config.s3Destination is not None:
        # UpdateProjectDataDelivery: "You can't specify both cloudWatchLogs and s3Destination".
        raise ValidationException(
            "specify cloudWatchLogs or s3Destination, not both", field="dataDelivery"
        )
    s3 = config.s3Destination
    return DataDelivery(
        cloudwatch_log_group=config.cloudWatchLogs.logGroup if config.cloudWatchLogs else None,
        s3_bucket=s3.bucket if s3 else None,
        s3_prefix=s3.prefix if s3 else None,
    )


def app_config(
    project: str, config: wire.ProjectAppConfigResourceConfig | None
) -> AppConfigResource | None:
    if config is None or (config.applicationId is None and config.environmentId is None):
        return None
    if not config.applicationId or not config.environmentId:
        raise ValidationException(
            "appConfigResource needs both applicationId and environmentId",
            field="appConfigResource",
        )
    resource = AppConfigResource(config.applicationId, config.environmentId)
    return AppConfigResource(
        config.applicationId, config.environmentId, resource.profile_id(project)
    )


def body(h: CommandHandlers, project: Project) -> dict[str, Any]:
    shape = render.project(project, h.arns, h.view.counters(project.name, h.clock()))
    shape["resourceVersion"] = project.version
    return shape


async def create_project(call: Call) -> Any:
    req = parse(wire.CreateProjectRequest, call.input)
    h = handlers(call)

    def decide(existing: Project | None, now: Any) -> list[object]:
        check_quota(
            sum(1 for p in h.view.projects.values() if not p.deleted), h.quotas.projects, "projects"
        )
        return list(
            agg.create_project(
                existing,
                name=req.name,
                description=req.description,
                tags=req.tags,
                data_delivery=data_delivery(req.dataDelivery),
                app_config_resource=app_config(req.name, req.appConfigResource),
                now=now,
            )
        )

    await execute(
        call,
        agg.stream(req.name),
        lambda: h.view.projects.get(req.name),
        decide,
    )
    return versioned("project", body(h, h.project(req.name)))


async def get_project(call: Call) -> Any:
    h = handlers(call)
    return versioned("project", body(h, h.project(call.input["project"])))


async def update_project(call: Call) -> Any:
    req = parse(wire.UpdateProjectRequest, call.input)
    h = handlers(call)
    name = req.project
    await execute(
        call,
        agg.stream(name),
        lambda: h.project(name),
        lambda p, now: agg.update_project(
            require(p),
            description=req.description,
            app_config_resource=app_config(name, req.appConfigResource),
            now=now,
        ),
    )
    return versioned("project", body(h, h.project(name)))


async def update_project_data_delivery(call: Call) -> Any:
    req = parse(wire.UpdateProjectDataDeliveryRequest, call.input)
    h = handlers(call)
    name = req.project
    await execute(
        call,
        agg.stream(name),
        lambda: h.project(name),
        lambda p, now: agg.update_data_delivery(require(p), data_delivery(req), now),
    )
    return versioned("project", body(h, h.project(name)))


async def delete_project(call: Call) -> Any:
    h = handlers(call)
    name = call.input["project"]

    def decide(p: Project | None, now: Any) -> list[object]:
        counts = h.view.counters(name, now)
        left = counts["featureCount"] + counts["launchCount"] + counts["experimentCount"]
        return list(agg.delete_project(require(p), resources_left=left, now=now))

    await execute(
        call,
        agg.stream(name),
        lambda: h.project(name),
        decide,
    )
    return {}


async def list_projects(call: Call) -> Any:
    h = handlers(call)
    now = h.clock()

    def summary(p: Project) -> dict[str, Any]:
        return render.project_summary(p, h.arns, h.view.counters(p.name, now))

    live = [p for p in h.view.projects.values() if not p.deleted]
    return listing(call, "projects", live, lambda p: p.name, summary, default=50)
