"""Segment aggregate: a validated pattern over the evaluation context."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from shared.domain.errors import Conflict
from shared.domain.events import SegmentCreated, SegmentDeleted, TagsChanged
from shared.domain.patterns import compile_pattern
from shared.domain.resources import segment_ref

MAX_PATTERN_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    pattern: str
    description: str | None
    tags: Mapping[str, str]
    created_at: datetime
    updated_at: datetime
    version: int = 0
    deleted: bool = False


def stream(name: str) -> str:
    return segment_ref(name).stream


def create_segment(
    existing: Segment | None,
    *,
    name: str,
    pattern: str,
    description: str | None,
    tags: Mapping[str, str],
    now: datetime,
) -> list[SegmentCreated]:
    if existing is not None and not existing.deleted:
        raise Conflict(f"segment {name} already exists", name, "Segment")
    compile_pattern(pattern, field="pattern", max_length=MAX_PATTERN_LENGTH)
    return [SegmentCreated(now, name, pattern, description, dict(tags))]


def delete_segment(
    segment: Segment, *, used_by: Collection[str], now: datetime
) -> list[SegmentDeleted]:
    # DeleteSegment: "You can't delete a segment that is being used in a launch or
    # experiment, even if that launch or experiment is not currently running."
    if used_by:
        raise Conflict(
            f"segment {segment.name} is used by {', '.join(sorted(used_by))}",
            segment.name,
            "Segment",
        )
    return [SegmentDeleted(now)]


def apply(segment: Segment | None, event: object, version: int) -> Segment | None:
    match event:
        case SegmentCreated():
            return Segment(
                name=event.name,
                pattern=event.pattern,
                description=event.description,
                tags=dict(event.tags),
                created_at=event.at,
                updated_at=event.at,
                version=version,
            )
        case SegmentDeleted() if segment is not None:
            return replace(segment, deleted=True, updated_at=event.at, version=version)
        case TagsChanged() if segment is not None:
            return replace(segment, tags=dict(event.tags), version=version)
    return segment
