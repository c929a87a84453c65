"""Every configuration change, as a past-tense event.

A stored event type never changes meaning: a new shape gets a new
``schema_version`` and an upcaster in ``shared.envelope``.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from shared.domain.values import Variation


@dataclass(frozen=True, slots=True)
class DataDelivery:
    cloudwatch_log_group: str | None = None
    s3_bucket: str | None = None
    s3_prefix: str | None = None


@dataclass(frozen=True, slots=True)
class AppConfigResource:
    application_id: str
    environment_id: str
    configuration_profile_id: str | None = None


# -- projects -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProjectCreated:
    at: datetime
    name: str
    description: str | None
    tags: Mapping[str, str]
    data_delivery: DataDelivery | None
    app_config_resource: AppConfigResource | None


@dataclass(frozen=True, slots=True)
class ProjectUpdated:
    at: datetime
    description: str | None
    app_config_resource: AppConfigResource | None


@dataclass(frozen=True, slots=True)
class ProjectDataDeliveryUpdated:
    at: datetime
    data_delivery: DataDelivery | None


@dataclass(frozen=True, slots=True)
class ProjectDeleted:
    at: datetime


# -- features -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeatureCreated:
    at: datetime
    project: str
    name: str
    description: str | None
    variations: tuple[Variation, ...]
    default_variation: str
    evaluation_strategy: str
    entity_overrides: Mapping[str, str]
    tags: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class FeatureUpdated:
    at: datetime
    description: str | None
    variations: tuple[Variation, ...]
    default_variation: str
    evaluation_strategy: str
    entity_overrides: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class FeatureDeleted:
    at: datetime


# -- any resource ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TagsChanged:
    at: datetime
    tags: Mapping[str, str] = field(default_factory=dict)


Event = (
    ProjectCreated
    | ProjectUpdated
    | ProjectDataDeliveryUpdated
    | ProjectDeleted
    | FeatureCreated
    | FeatureUpdated
    | FeatureDeleted
    | TagsChanged
)

EVENT_TYPES: dict[str, type] = {cls.__name__: cls for cls in typing.get_args(Event)}
