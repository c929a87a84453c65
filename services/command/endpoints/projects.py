"""Projects: Create, Get, Update, UpdateProjectDataDelivery, Delete, List."""

from __future__ import annotations

from typing import Any

from services.command.application import ControlPlane
from services.command.endpoints.common import application, context, listing, versioned
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


def app_config(config: wire.ProjectAppConfigResourceConfig | None) -> AppConfigResource | None:
    if config is None or (config.applicationId is None and config.environmentId is None):
        return None
    if not config.applicationId or not config.environmentId:
        raise ValidationException(
            "appConfigResource needs both applicationId and environmentId",
            field="appConfigResource",
        )
    return AppConfigResource(config.applicationId, config.environmentId)


def body(app: ControlPlane, project: Project) -> dict[str, Any]:
    shape = render.project(project, app.arns, app.view.counters(project.name, app.clock()))
    shape["resourceVersion"] = project.version
    return shape


async def create_project(call: Call) -> Any:
    req = parse(wire.CreateProjectRequest, call.input)
    app = application(call)
    project = await app.create_project(
        req.name,
        description=req.description,
        tags=req.tags,
        data_delivery=data_delivery(req.dataDelivery),
        app_config=app_config(req.appConfigResource),
        context=context(call),
    )
    return versioned("project", body(app, project))


async def get_project(call: Call) -> Any:
    app = application(call)
    return versioned("project", body(app, app.get_project(call.input["project"])))


async def update_project(call: Call) -> Any:
    req = parse(wire.UpdateProjectRequest, call.input)
    app = application(call)
    project = await app.update_project(
        req.project,
        description=req.description,
        app_config=app_config(req.appConfigResource),
        context=context(call),
    )
    return versioned("project", body(app, project))


async def update_project_data_delivery(call: Call) -> Any:
    req = parse(wire.UpdateProjectDataDeliveryRequest, call.input)
    app = application(call)
    project = await app.update_project_data_delivery(req.project, data_delivery(req), context(call))
    return versioned("project", body(app, project))


async def delete_project(call: Call) -> Any:
    await application(call).delete_project(call.input["project"], context(call))
    return {}


async def list_projects(call: Call) -> Any:
    app = application(call)
    now = app.clock()

    def summary(p: Project) -> dict[str, Any]:
        return render.project_summary(p, app.arns, app.view.counters(p.name, now))

    return listing(call, "projects", app.list_projects(), lambda p: p.name, summary, default=50)
