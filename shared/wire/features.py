"""Feature request shapes (CreateFeature, UpdateFeature)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.wire.common import Description, LongValue, ResourceName, Tags, WireModel


class VariableValue(WireModel):
    """A union in the model: the edge has checked that exactly one member is set."""

    boolValue: bool | None = None
    doubleValue: float | None = None
    longValue: LongValue | None = None
    stringValue: str | None = None


class VariationConfig(WireModel):
    name: ResourceName
    value: VariableValue


EvaluationStrategy = Literal["ALL_RULES", "DEFAULT_VARIATION"]
EntityOverrides = dict[str, ResourceName]


class CreateFeatureRequest(WireModel):
    project: str
    name: ResourceName
    description: Description | None = None
    variations: list[VariationConfig]
    defaultVariation: ResourceName | None = None
    evaluationStrategy: EvaluationStrategy | None = None
    entityOverrides: EntityOverrides = Field(default_factory=dict)
    tags: Tags = Field(default_factory=dict)


class UpdateFeatureRequest(WireModel):
    project: str
    feature: ResourceName
    description: Description | None = None
    addOrUpdateVariations: list[VariationConfig] = Field(default_factory=list)
    removeVariations: list[ResourceName] = Field(default_factory=list)
    defaultVariation: ResourceName | None = None
    evaluationStrategy: EvaluationStrategy | None = None
    entityOverrides: EntityOverrides | None = None
