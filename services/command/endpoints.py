"""Control-plane endpoints: wire model in, handler, wire model out."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from services.command.handlers import CommandHandlers
from shared.domain.arn import project_name
from shared.domain.events import AppConfigResource, DataDelivery
from shared.errors import ValidationException
from shared.http import json_response
from shared.wire import features as wf
from shared.wire import projects as wp
from shared.wire import render
from shared.wire.common import parse
from shared.wire.pagination import page


def _handlers(request: Request) -> CommandHandlers:
    handlers: CommandHandlers = request.app.state.handlers
    return handlers


def if_match(request: Request) -> int | None:
    """HTTP's own optimistic concurrency: If-Match carries a resourceVersion ETag."""
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    try:
        return int(raw.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise ValidationException(
            'If-Match must be a resourceVersion ETag such as "3"', field="If-Match"
        ) from None


def versioned(content: dict[str, Any], version: int) -> Response:
    return json_response(content, headers={"ETag": f'"{version}"'})


def _data_delivery(
    config: wp.ProjectDataDeliveryConfig | wp.UpdateProjectDataDeliveryRequest | None,
) -> DataDelivery | None:
    if config is None or (config.cloudWatchLogs is None and config.s3Destination is None):
        return None
    s3 = config.s3Destination
    return DataDelivery(
        cloudwatch_log_group=config.cloudWatchLogs.logGroup if config.cloudWatchLogs else None,
        s3_bucket=s3.bucket if s3 else None,
        s3_prefix=s3.prefix if s3 else None,
    )


def _app_config(config: wp.ProjectAppConfigResourceConfig | None) -> AppConfigResource | None:
    if config is None or not config.applicationId or not config.environmentId:
        return None
    return AppConfigResource(config.applicationId, config.environmentId, None)


def _project_body(request: Request, name: str) -> dict[str, Any]:
    h = _handlers(request)
    project = h.project(name)
    body = render.project(project, h.arns, counters(h, name))
    body["resourceVersion"] = project.version
    return body


def counters(h: CommandHandlers, project: str) -> dict[str, int]:
    return {
        "featureCount": sum(1 for _ in h.view.live_features(project)),
        "launchCount": 0,
        "activeLaunchCount": 0,
        "experimentCount": 0,
        "activeExperimentCount": 0,
    }


# -- projects -------------------------------------------------------------


async def create_project(request: Request) -> Response:
    req = parse(wp.CreateProjectRequest, await request.body())
    project = await _handlers(request).create_project(
        name=req.name,
        description=req.description,
        tags=req.tags,
        data_delivery=_data_delivery(req.dataDelivery),
        app_config_resource=_app_config(req.appConfigResource),
    )
    return versioned({"project": _project_body(request, project.name)}, project.version)


async def get_project(request: Request) -> Response:
    name = project_name(request.path_params["project"])
    body = _project_body(request, name)
    return versioned({"project": body}, body["resourceVersion"])


async def update_project(request: Request) -> Response:
    req = parse(
        wp.UpdateProjectRequest, await request.body(), project=request.path_params["project"]
    )
    project = await _handlers(request).update_project(
        project_name(req.project),
        description=req.description,
        app_config_resource=_app_config(req.appConfigResource),
        if_match=if_match(request),
    )
    return versioned({"project": _project_body(request, project.name)}, project.version)


async def update_project_data_delivery(request: Request) -> Response:
    req = parse(
        wp.UpdateProjectDataDeliveryRequest,
        await request.body(),
        project=request.path_params["project"],
    )
    project = await _handlers(request).update_project_data_delivery(
        project_name(req.project), _data_delivery(req), if_match(request)
    )
    return versioned({"project": _project_body(request, project.name)}, project.version)


async def delete_project(request: Request) -> Response:
    await _handlers(request).delete_project(
        project_name(request.path_params["project"]), if_match(request)
    )
    return json_response({})


async def list_projects(request: Request) -> Response:
    h = _handlers(request)
    live = [p for p in h.view.projects.values() if not p.deleted]
    chosen, token = page(
        live,
        lambda p: p.name,
        max_results=request.query_params.get("maxResults"),
        next_token=request.query_params.get("nextToken"),
        limit=50,
    )
    body: dict[str, Any] = {
        "projects": [render.project_summary(p, h.arns, counters(h, p.name)) for p in chosen]
    }
    if token:
        body["nextToken"] = token
    return json_response(body)


# -- features -------------------------------------------------------------


def _feature_body(h: CommandHandlers, project: str, name: str) -> dict[str, Any]:
    feature = h.feature(project, name)
    body = render.feature(feature, h.arns, [])
    body["resourceVersion"] = feature.version
    return body


async def create_feature(request: Request) -> Response:
    req = parse(
        wf.CreateFeatureRequest, await request.body(), project=request.path_params["project"]
    )
    h = _handlers(request)
    project = project_name(req.project)
    feature = await h.create_feature(
        project,
        name=req.name,
        description=req.description,
        variations=[render.variation_from_wire(v) for v in req.variations],
        default_variation=req.defaultVariation,
        evaluation_strategy=req.evaluationStrategy,
        entity_overrides=dict(req.entityOverrides),
        tags=req.tags,
    )
    return versioned({"feature": _feature_body(h, project, feature.name)}, feature.version)


async def get_feature(request: Request) -> Response:
    h = _handlers(request)
    body = _feature_body(
        h, project_name(request.path_params["project"]), request.path_params["feature"]
    )
    return versioned({"feature": body}, body["resourceVersion"])


async def update_feature(request: Request) -> Response:
    req = parse(
        wf.UpdateFeatureRequest,
        await request.body(),
        project=request.path_params["project"],
        feature=request.path_params["feature"],
    )
    h = _handlers(request)
    project = project_name(req.project)
    feature = await h.update_feature(
        project,
        req.feature,
        description=req.description,
        add_or_update=[render.variation_from_wire(v) for v in req.addOrUpdateVariations],
        remove=req.removeVariations,
        default_variation=req.defaultVariation,
        evaluation_strategy=req.evaluationStrategy,
        entity_overrides=None if req.entityOverrides is None else dict(req.entityOverrides),
        if_match=if_match(request),
    )
    return versioned({"feature": _feature_body(h, project, feature.name)}, feature.version)


async def delete_feature(request: Request) -> Response:
    await _handlers(request).delete_feature(
        project_name(request.path_params["project"]),
        request.path_params["feature"],
        if_match(request),
    )
    return json_response({})


async def list_features(request: Request) -> Response:
    h = _handlers(request)
    project = project_name(request.path_params["project"])
    h.project(project)
    chosen, token = page(
        h.view.live_features(project),
        lambda f: f.name,
        max_results=request.query_params.get("maxResults"),
        next_token=request.query_params.get("nextToken"),
        limit=100,
    )
    body: dict[str, Any] = {"features": [render.feature_summary(f, h.arns, []) for f in chosen]}
    if token:
        body["nextToken"] = token
    return json_response(body)
