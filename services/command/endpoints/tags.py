"""TagResource, UntagResource, ListTagsForResource, and the audit log of any resource."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from services.command.endpoints.common import execute, handlers
from services.command.handlers import CommandHandlers
from shared.domain.arn import ResourceRef, parse_resource_arn
from shared.domain.events import TagsChanged
from shared.errors import ValidationException
from shared.http import json_response
from shared.wire import render
from shared.wire import segments as wire
from shared.wire.common import parse

MAX_TAGS = 50


class Tagged:
    """The slice of any aggregate that tagging needs."""

    version: int
    tags: Any


def resolve(h: CommandHandlers, ref: ResourceRef) -> tuple[str, Callable[[], Any]]:
    """(stream id, loader raising ResourceNotFoundException) of the resource an ARN names."""
    if ref.kind == "project":
        return f"project-{ref.name}", lambda: h.project(ref.name)
    if ref.kind == "segment":
        return f"segment-{ref.name}", lambda: h.segment(ref.name)
    project = ref.project or ""
    loaders: dict[str, Callable[[], Any]] = {
        "feature": lambda: h.feature(project, ref.name),
        "launch": lambda: h.launch(project, ref.name),
        "experiment": lambda: h.experiment(project, ref.name),
    }
    return f"{ref.kind}-{project}/{ref.name}", loaders[ref.kind]


async def _retag(request: Request, change: Callable[[dict[str, str]], dict[str, str]]) -> None:
    h = handlers(request)
    stream, load = resolve(h, parse_resource_arn(request.path_params["resourceArn"]))

    def decide(state: Any, now: datetime) -> list[object]:
        tags = change(dict(state.tags))
        if len(tags) > MAX_TAGS:
            raise ValidationException(f"a resource has at most {MAX_TAGS} tags", field="tags")
        return [TagsChanged(now, tags)]

    await execute(request, stream, load, decide)


async def tag_resource(request: Request) -> Response:
    req = parse(wire.TagResourceRequest, await request.body())
    await _retag(request, lambda tags: {**tags, **req.tags})
    return json_response({})


async def untag_resource(request: Request) -> Response:
    keys = request.query_params.getlist("tagKeys")
    if len(keys) > MAX_TAGS:
        raise ValidationException(f"at most {MAX_TAGS} tagKeys", field="tagKeys")
    await _retag(request, lambda tags: {k: v for k, v in tags.items() if k not in keys})
    return json_response({})


async def list_tags_for_resource(request: Request) -> Response:
    h = handlers(request)
    _, load = resolve(h, parse_resource_arn(request.path_params["resourceArn"]))
    return json_response({"tags": dict(load().tags)})


async def resource_history(request: Request) -> Response:
    """The audit log: every event of one resource's stream, oldest first."""
    h = handlers(request)
    stream, load = resolve(h, parse_resource_arn(request.path_params["resourceArn"]))
    load()
    events = await h.store.read_stream(stream)
    history: list[dict[str, Any]] = [
        {
            "resourceVersion": e.version,
            "type": e.type,
            "occurredAt": render.timestamp(e.occurred_at),
            "position": e.position,
            "change": e.payload,
            "metadata": e.metadata,
        }
        for e in events
    ]
    return json_response({"stream": stream, "events": history})
