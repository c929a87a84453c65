"""Segments: Create, Get, Delete, List, ListSegmentReferences, TestSegmentPattern."""

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
from shared.domain import segment as agg
from shared.domain.experiment import Experiment
from shared.domain.launch import Launch
from shared.domain.patterns import compile_pattern
from shared.domain.segment import Segment
from shared.edge.app import Call
from shared.wire import render
from shared.wire import segments as wire
from shared.wire.common import json_object, parse


def body(h: CommandHandlers, s: Segment) -> dict[str, Any]:
    return render.segment(
        s, h.arns, len(h.view.segment_launches(s.name)), len(h.view.segment_experiments(s.name))
    )


async def create_segment(call: Call) -> Any:
    req = parse(wire.CreateSegmentRequest, call.input)
    h = handlers(call)

    def decide(existing: Segment | None, now: datetime) -> list[object]:
        check_quota(sum(1 for _ in h.view.live_segments()), h.quotas.segments, "segments")
        return list(
            agg.create_segment(
                existing,
                name=req.name,
                pattern=req.pattern,
                description=req.description,
                tags=req.tags,
                now=now,
            )
        )

    await execute(
        call,
        agg.stream(req.name),
        lambda: h.view.segments.get(req.name),
        decide,
    )
    return versioned("segment", body(h, h.segment(req.name)))


async def get_segment(call: Call) -> Any:
    h = handlers(call)
    return versioned("segment", body(h, h.segment(call.input["segment"])))


async def delete_segment(call: Call) -> Any:
    h = handlers(call)
    name = call.input["segment"]

    def decide(state: Segment | None, now: datetime) -> list[object]:
        users = {f"launch {x.project}/{x.name}" for x in h.view.segment_launches(name)}
        users |= {f"experiment {x.project}/{x.name}" for x in h.view.segment_experiments(name)}
        return list(agg.delete_segment(require(state), used_by=users, now=now))

    await execute(
        call,
        agg.stream(name),
        lambda: h.segment(name),
        decide,
    )
    return {}


async def list_segments(call: Call) -> Any:
    h = handlers(call)
    return listing(
        call,
        "segments",
        h.view.live_segments(),
        lambda s: s.name,
        lambda s: body(h, s),
        default=50,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _reference(h: CommandHandlers, x: Launch | Experiment, now: datetime) -> dict[str, Any]:
    if isinstance(x, Launch):
        arn, kind, status = h.arns.child(x.project, "launch", x.name), "LAUNCH", x.status
    else:
        arn, kind, status = (
            h.arns.child(x.project, "experiment", x.name),
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
    h = handlers(call)
    name = call.input["segment"]
    h.segment(name)
    users: list[Launch | Experiment]
    if call.input["type"] == "LAUNCH":
        users = list(h.view.segment_launches(name))
    else:
        users = list(h.view.segment_experiments(name))
    now = h.clock()
    return listing(
        call,
        "referencedBy",
        users,
        lambda x: f"{x.project}/{x.name}",
        lambda x: _reference(h, x, now),
        # ListSegmentReferences: "If you omit this, the default of 50 is used."
        default=50,
    )


async def test_segment_pattern(call: Call) -> Any:
    req = parse(wire.TestSegmentPatternRequest, call.input)
    pattern = compile_pattern(req.pattern, field="pattern", max_length=agg.MAX_PATTERN_LENGTH)
    payload = json_object(req.payload, "payload")
    return {"match": pattern.matches(payload)}
