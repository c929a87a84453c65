"""Project request shapes (CreateProject, UpdateProject, UpdateProjectDataDelivery)."""

from __future__ import annotations

from pydantic import Field

from shared.wire.common import Description, ResourceName, Tags, WireModel

AppConfigId = str


class CloudWatchLogsDestinationConfig(WireModel):
    logGroup: str


class S3DestinationConfig(WireModel):
    bucket: str | None = None
    prefix: str | None = None


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
