"""Segment and tag request shapes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shared.wire.common import Description, SegmentName, Tags, WireModel

SegmentPattern = Annotated[str, Field(min_length=1, max_length=1024)]


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
