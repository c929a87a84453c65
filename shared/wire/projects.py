"""Project request shapes (CreateProject, UpdateProject, UpdateProjectDataDelivery)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from shared.wire.common import Description, ResourceName, Tags, WireModel

AppConfigId = Annotated[str, Field(pattern=r"^[a-z0-9]{4,7}$")]


class CloudWatchLogsDestinationConfig(WireModel):
    logGroup: Annotated[str, Field(min_length=1, max_length=512, pattern=r"^[-a-zA-Z0-9._/]+$")]


class S3DestinationConfig(WireModel):
    bucket: (
        Annotated[str, Field(min_length=3, max_length=63, pattern=r"^[a-z0-9][-a-z0-9]*[a-z0-9]$")]
        | None
    ) = None
    prefix: (
        Annotated[str, Field(min_length=1, max_length=1024, pattern=r"^[-a-zA-Z0-9!_.*'()/]*$")]
        | None
    ) = None


class ProjectDataDeliveryConfig(WireModel):
    cloudWatchLogs: CloudWatchLogsDestinationConfig | None = None
    s3Destination: S3DestinationConfig | None = None


class ProjectAppConfigResourceConfig(WireModel):
    applicationId: AppConfigId | None = None
    environmentId: AppConfigId | None = None


class CreateProjectRequest(WireModel):
    name: ResourceName
    description: Description | None = None
    tags: Tags = Field(default_factory=dict)
    dataDelivery: ProjectDataDeliveryConfig | None = None
    appConfigResource: ProjectAppConfigResourceConfig | None = None


class UpdateProjectRequest(WireModel):
    project: str
    description: Description | None = None
    appConfigResource: ProjectAppConfigResourceConfig | None = None


class UpdateProjectDataDeliveryRequest(WireModel):
    project: str
    cloudWatchLogs: CloudWatchLogsDestinationConfig | None = None
    s3Destination: S3DestinationConfig | None = None
