"""MetricDefinitionConfig, shared by launch monitors and experiment goals."""

from __future__ import annotations

from shared.wire.common import JsonPath, WireModel


class MetricDefinitionConfig(WireModel):
    name: str
    entityIdKey: JsonPath
    valueKey: JsonPath
    eventPattern: str | None = None
    unitLabel: str | None = None
