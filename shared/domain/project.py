"""Project aggregate: a command checks invariants and returns events; apply folds them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from shared.domain.errors import Conflict
from shared.domain.events import (
    AppConfigResource,
    DataDelivery,
    ProjectCreated,
    ProjectDataDeliveryUpdated,
    ProjectDeleted,
    ProjectUpdated,
    TagsChanged,
)
from shared.domain.resources import project_ref


@dataclass(frozen=True, slots=True)
class Project:
    name: str
    description: str | None
    tags: Mapping[str, str]
    data_delivery: DataDelivery | None
    app_config_resource: AppConfigResource | None
    created_at: datetime
    updated_at: datetime
    version: int = 0
    deleted: bool = False


def stream(name: str) -> str:
    return project_ref(name).stream


def create_project(
    existing: Project | None,
    *,
    name: str,
    description: str | None,
    tags: Mapping[str, str],
    data_delivery: DataDelivery | None,
    app_config_resource: AppConfigResource | None,
    now: datetime,
) -> list[ProjectCreated]:
    if existing is not None and not existing.deleted:
        raise Conflict(f"project {name} already exists", name, "Project")
    return [ProjectCreated(now, name, description, dict(tags), data_delivery, app_config_resource)]


def update_project(
    project: Project,
    *,
    description: str | None,
    app_config_resource: AppConfigResource | None,
    now: datetime,
) -> list[ProjectUpdated]:
    return [
        ProjectUpdated(
            now,
            project.description if description is None else description,
            project.app_config_resource if app_config_resource is None else app_config_resource,
        )
    ]


def update_data_delivery(
    project: Project, data_delivery: DataDelivery | None, now: datetime
) -> list[ProjectDataDeliveryUpdated]:
    return [ProjectDataDeliveryUpdated(now, data_delivery)]


def delete_project(project: Project, *, resources_left: int, now: datetime) -> list[ProjectDeleted]:
    # Evidently refuses to delete a project that still holds resources.
    if resources_left:
        raise Conflict(
            f"project {project.name} still has {resources_left} features, launches or"
            " experiments; delete them first",
            project.name,
            "Project",
        )
    return [ProjectDeleted(now)]


def apply(project: Project | None, event: object, version: int) -> Project | None:
    match event:
        case ProjectCreated():
            return Project(
                name=event.name,
                description=event.description,
                tags=dict(event.tags),
                data_delivery=event.data_delivery,
                app_config_resource=event.app_config_resource,
                created_at=event.at,
                updated_at=event.at,
                version=version,
            )
        case ProjectUpdated() if project is not None:
            return replace(
                project,
                description=event.description,
                app_config_resource=event.app_config_resource,
                updated_at=event.at,
                version=version,
            )
        case ProjectDataDeliveryUpdated() if project is not None:
            return replace(
                project, data_delivery=event.data_delivery, updated_at=event.at, version=version
            )
        case ProjectDeleted() if project is not None:
            return replace(project, deleted=True, updated_at=event.at, version=version)
        case TagsChanged() if project is not None:
            return replace(project, tags=dict(event.tags), version=version)
    return project
