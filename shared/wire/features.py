"""Feature request shapes (CreateFeature, UpdateFeature)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from shared.wire.common import Description, LongValue, ResourceName, Tags, WireModel


class VariableValue(WireModel):
    boolValue: bool | None = None
    doubleValue: float | None = None
    longValue: LongValue | None = None
    stringValue: Annotated[str, Field(max_length=512)] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> VariableValue:
        given = [k for k, v in self.model_dump().items() if v is not None]
        if len(given) != 1:
            raise ValueError(
                "a variation value sets exactly one of boolValue, doubleValue,"
                f" longValue, stringValue (got {given or 'none'})"
            )
        return self


class VariationConfig(WireModel):
    name: ResourceName
    value: VariableValue


EvaluationStrategy = Literal["ALL_RULES", "DEFAULT_VARIATION"]
EntityOverrides = Annotated[
    dict[Annotated[str, Field(min_length=1, max_length=512)], ResourceName], Field(max_length=2500)
]


class CreateFeatureRequest(WireModel):
    project: str
    name: ResourceName
    description: Description | None = None
    variations: Annotated[list[VariationConfig], Field(min_length=1, max_length=5)]
    defaultVariation: ResourceName | None = None
    evaluationStrategy: EvaluationStrategy | None = None
    entityOverrides: EntityOverrides = Field(default_factory=dict)
    tags: Tags = Field(default_factory=dict)


class UpdateFeatureRequest(WireModel):
    project: str
    feature: ResourceName
    description: Description | None = None
    addOrUpdateVariations: Annotated[list[VariationConfig], Field(max_length=5)] = Field(
        default_factory=list
    )
    removeVariations: Annotated[list[ResourceName], Field(max_length=5)] = Field(
        default_factory=list
    )
    defaultVariation: ResourceName | None = None
    evaluationStrategy: EvaluationStrategy | None = None
    entityOverrides: EntityOverrides | None = None
