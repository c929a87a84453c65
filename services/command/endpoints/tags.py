"""TagResource, UntagResource, ListTagsForResource, and the audit log of any resource."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from services.command.endpoints.common import execute, handlers
from services.command.handlers import CommandHandlers
from shared.domain.arn import ResourceRef
from shared.domain.events import TagsChanged
from shared.domain.tagging import check_tag_count
from shared.edge.app import Call
from shared.wire import render
from shared.wire import segments as wire
from shared.wire.common import parse


def resolve(h: CommandHandlers, call: Call) -> tuple[str, Callable[[], Any]]:
    """(stream id, loader raising ResourceNotFoundException) of the resource an ARN names."""
    ref: ResourceRef = h.arns.resource(call.input["resourceArn"])
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


async def _retag(call: Call, change: Callable[[dict[str, str]], dict[str, str]]) -> None:
    h = handlers(call)
    stream, load = resolve(h, call)

    def decide(state: Any, now: datetime) -> list[object]:
        tags = change(dict(state.tags))
        check_tag_count(tags)
        return [TagsChanged(now, tags)]

    await execute(call, stream, load, decide)


async def tag_resource(call: Call) -> Any:
    req = parse(wire.TagResourceRequest, call.input)
    await _retag(call, lambda tags: {**tags, **req.tags})
    return {}


async def untag_resource(call: Call) -> Any:
    keys = set(call.input["tagKeys"])
    await _retag(call, lambda tags: {k: v for k, v in tags.items() if k not in keys})
    return {}


async def list_tags_for_resource(call: Call) -> Any:
    _, load = resolve(handlers(call), call)
    return {"tags": dict(load().tags)}


async def resource_history(call: Call) -> Any:
    """The audit log: every event of one resource's stream, oldest first."""
    h = handlers(call)
    stream, load = resolve(h, call)
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
    return {"stream": stream, "events": history}
