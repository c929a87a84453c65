"""MetricDefinitionConfig, shared by launch monitors and experiment goals."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shared.wire.common import JsonPath, WireModel


class MetricDefinitionConfig(WireModel):
    name: Annotated[str, Field(min_length=1, max_length=255, pattern=r"^\S+$")]
    entityIdKey: JsonPath
    valueKey: JsonPath
    eventPattern: Annotated[str, Field(max_length=1024)] | None = None
    unitLabel: Annotated[str, Field(min_length=1, max_length=256)] | None = None
