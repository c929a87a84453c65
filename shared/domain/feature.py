"""Feature aggregate: variations, the default, entity overrides."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from shared.domain.errors import Conflict, Invalid
from shared.domain.events import FeatureCreated, FeatureDeleted, FeatureUpdated, TagsChanged
from shared.domain.resources import ResourceKind, ResourceRef
from shared.domain.values import ValueType, Variation

MAX_VARIATIONS = 5
MAX_ENTITY_OVERRIDES = 2500


@dataclass(frozen=True, slots=True)
class Feature:
    project: str
    name: str
    description: str | None
    variations: tuple[Variation, ...]
    default_variation: str
    evaluation_strategy: str
    entity_overrides: Mapping[str, str]
    tags: Mapping[str, str]
    created_at: datetime
    updated_at: datetime
    version: int = 0
    deleted: bool = False

    @property
    def value_type(self) -> ValueType:
        return self.variations[0].value.type

    def variation(self, name: str) -> Variation | None:
        for v in self.variations:
            if v.name == name:
                return v
        return None


def stream(project: str, name: str) -> str:
    return ResourceRef(ResourceKind.FEATURE, project, name).stream


def _check_variations(
    variations: Sequence[Variation], default: str, overrides: Mapping[str, str]
) -> None:
    if not 1 <= len(variations) <= MAX_VARIATIONS:
        raise Invalid(
            f"a feature has 1 to {MAX_VARIATIONS} variations, not {len(variations)}",
            field="variations",
        )
    names = [v.name for v in variations]
    if len(set(names)) != len(names):
        raise Invalid("variation names must be unique", field="variations")
    types = {v.value.type for v in variations}
    if len(types) != 1:
        raise Invalid(
            "all variations of a feature must have the same value type", field="variations"
        )
    if default not in names:
        raise Invalid(
            f"defaultVariation {default!r} is not one of the feature's variations",
            field="defaultVariation",
        )
    if len(overrides) > MAX_ENTITY_OVERRIDES:
        raise Invalid(f"at most {MAX_ENTITY_OVERRIDES} entityOverrides", field="entityOverrides")
    for entity, variation in overrides.items():
        if variation not in names:
            raise Invalid(
                f"entityOverrides maps {entity!r} to unknown variation {variation!r}",
                field="entityOverrides",
            )


def create_feature(
    existing: Feature | None,
    *,
    project: str,
    name: str,
    description: str | None,
    variations: Sequence[Variation],
    default_variation: str | None,
    evaluation_strategy: str | None,
    entity_overrides: Mapping[str, str],
    tags: Mapping[str, str],
    now: datetime,
) -> list[FeatureCreated]:
    if existing is not None and not existing.deleted:
        raise Conflict(f"feature {name} already exists in project {project}", name, "Feature")
    # Evidently: an omitted defaultVariation is the first variation listed.
    default = default_variation or (variations[0].name if variations else "")
    _check_variations(variations, default, entity_overrides)
    return [
        FeatureCreated(
            now,
            project,
            name,
            description,
            tuple(variations),
            default,
            evaluation_strategy or "ALL_RULES",
            dict(entity_overrides),
            dict(tags),
        )
    ]


def update_feature(
    feature: Feature,
    *,
    description: str | None,
    add_or_update: Sequence[Variation],
    remove: Sequence[str],
    default_variation: str | None,
    evaluation_strategy: str | None,
    entity_overrides: Mapping[str, str] | None,
    variations_in_use: Collection[str],
    now: datetime,
) -> list[FeatureUpdated]:
    blocked = sorted(set(remove) & set(variations_in_use))
    if blocked:
        raise Conflict(
            f"variations {blocked} of feature {feature.name} are used by a running launch or"
            " experiment",
            feature.name,
            "Feature",
        )
    by_name = {v.name: v for v in feature.variations}
    for variation in add_or_update:
        by_name[variation.name] = variation
    for name in remove:
        by_name.pop(name, None)
    variations = tuple(by_name.values())
    default = default_variation or feature.default_variation
    overrides = dict(feature.entity_overrides if entity_overrides is None else entity_overrides)
    _check_variations(variations, default, overrides)
    return [
        FeatureUpdated(
            now,
            feature.description if description is None else description,
            variations,
            default,
            evaluation_strategy or feature.evaluation_strategy,
            overrides,
        )
    ]


def delete_feature(
    feature: Feature, *, used_by: Collection[str], now: datetime
) -> list[FeatureDeleted]:
    if used_by:
        raise Conflict(
            f"feature {feature.name} is used by {', '.join(sorted(used_by))}",
            feature.name,
            "Feature",
        )
    return [FeatureDeleted(now)]


def apply(feature: Feature | None, event: object, version: int) -> Feature | None:
    match event:
        case FeatureCreated():
            return Feature(
                project=event.project,
                name=event.name,
                description=event.description,
                variations=tuple(event.variations),
                default_variation=event.default_variation,
                evaluation_strategy=event.evaluation_strategy,
                entity_overrides=dict(event.entity_overrides),
                tags=dict(event.tags),
                created_at=event.at,
                updated_at=event.at,
                version=version,
            )
        case FeatureUpdated() if feature is not None:
            return replace(
                feature,
                description=event.description,
                variations=tuple(event.variations),
                default_variation=event.default_variation,
                evaluation_strategy=event.evaluation_strategy,
                entity_overrides=dict(event.entity_overrides),
                updated_at=event.at,
                version=version,
            )
        case FeatureDeleted() if feature is not None:
            return replace(feature, deleted=True, updated_at=event.at, version=version)
        case TagsChanged() if feature is not None:
            return replace(feature, tags=dict(event.tags), version=version)
    return feature
