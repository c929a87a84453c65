"""Segment and tag request shapes."""

from __future__ import annotations

from pydantic import Field

from shared.wire.common import Description, SegmentName, Tags, WireModel

SegmentPattern = str


class CreateSegmentRequest(WireModel):
    name: SegmentName
    pattern: SegmentPattern
    description: Description | None = None
    tags: Tags = Field(default_factory=dict)


class TestSegmentPatternRequest(WireModel):
    pattern: SegmentPattern
    payload: str


class TagResourceRequest(WireModel):
    tags: Tags
