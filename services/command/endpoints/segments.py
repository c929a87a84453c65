"""Segments: Create, Get, Delete, List, ListSegmentReferences, TestSegmentPattern."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.command.application import ControlPlane
from services.command.endpoints.common import application, context, listing, versioned
from shared.domain.experiment import Experiment
from shared.domain.launch import Launch
from shared.domain.segment import Segment
from shared.edge.app import Call
from shared.wire import render
from shared.wire import segments as wire
from shared.wire.common import json_object, parse


def body(app: ControlPlane, s: Segment) -> dict[str, Any]:
    return render.segment(
        s,
        app.arns,
        len(app.view.segment_launches(s.name)),
        len(app.view.segment_experiments(s.name)),
    )


async def create_segment(call: Call) -> Any:
    req = parse(wire.CreateSegmentRequest, call.input)
    app = application(call)
    segment = await app.create_segment(
        req.name, req.pattern, description=req.description, tags=req.tags, context=context(call)
    )
    return versioned("segment", body(app, segment))


async def get_segment(call: Call) -> Any:
    app = application(call)
    return versioned("segment", body(app, app.get_segment(call.input["segment"])))


async def delete_segment(call: Call) -> Any:
    await application(call).delete_segment(call.input["segment"], context(call))
    return {}


async def list_segments(call: Call) -> Any:
    app = application(call)
    return listing(
        call, "segments", app.list_segments(), lambda s: s.name, lambda s: body(app, s), default=50
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _reference(app: ControlPlane, x: Launch | Experiment, now: datetime) -> dict[str, Any]:
    if isinstance(x, Launch):
        arn, kind, status = app.arns.child(x.project, "launch", x.name), "LAUNCH", x.status
    else:
        arn, kind, status = (
            app.arns.child(x.project, "experiment", x.name),
            "EXPERIMENT",
            x.status_at(now),
        )
    shape = {
        "arn": arn,
        "name": x.name,
        "type": kind,
        "status": status,
        "startTime": _iso(x.started_at),
        "endTime": _iso(x.ended_at),
        "lastUpdatedOn": _iso(x.updated_at),
    }
    return {k: v for k, v in shape.items() if v is not None}


async def list_segment_references(call: Call) -> Any:
    app = application(call)
    now = app.clock()
    return listing(
        call,
        "referencedBy",
        app.segment_references(call.input["segment"], call.input["type"]),
        lambda x: f"{x.project}/{x.name}",
        lambda x: _reference(app, x, now),
        # ListSegmentReferences: "If you omit this, the default of 50 is used."
        default=50,
    )


async def test_segment_pattern(call: Call) -> Any:
    req = parse(wire.TestSegmentPatternRequest, call.input)
    payload = json_object(req.payload, "payload")
    return {"match": application(call).test_segment_pattern(req.pattern, payload)}
