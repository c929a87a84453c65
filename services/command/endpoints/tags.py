"""TagResource, UntagResource, ListTagsForResource, and the audit log of any resource."""

from __future__ import annotations

from typing import Any

from services.command.endpoints.common import application, context
from shared.domain.resources import ResourceRef
from shared.edge.app import Call
from shared.wire import render
from shared.wire import segments as wire
from shared.wire.common import parse


def _ref(call: Call) -> ResourceRef:
    return application(call).arns.resource(call.input["resourceArn"])


async def tag_resource(call: Call) -> Any:
    req = parse(wire.TagResourceRequest, call.input)
    await application(call).tag_resource(_ref(call), req.tags, context(call))
    return {}


async def untag_resource(call: Call) -> Any:
    await application(call).untag_resource(_ref(call), call.input["tagKeys"], context(call))
    return {}


async def list_tags_for_resource(call: Call) -> Any:
    return {"tags": application(call).tags_of(_ref(call))}


async def resource_history(call: Call) -> Any:
    """The audit log: every event of one resource's stream, oldest first."""
    stream, events = await application(call).history(_ref(call))
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
