"""Evidently ARNs: arn:aws:evidently:{region}:{account}:project/{name}[/{kind}/{name}]."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.errors import ResourceNotFoundException, ValidationException

_PROJECT_ARN = re.compile(r"^arn:[^:]*:[^:]*:[^:]*:[^:]*:project/([a-zA-Z0-9._-]*)$")
_RESOURCE_ARN = re.compile(
    r"^arn:[^:]*:evidently:[^:]*:[^:]*:"
    r"(?:project/(?P<project>[-a-zA-Z0-9._]+)(?:/(?P<kind>feature|launch|experiment)/(?P<name>[-a-zA-Z0-9._]+))?"
    r"|segment/(?P<segment>[-a-zA-Z0-9._]+))$"
)


@dataclass(frozen=True, slots=True)
class ArnScheme:
    region: str
    account_id: str

    def _prefix(self) -> str:
        return f"arn:aws:evidently:{self.region}:{self.account_id}"

    def project(self, name: str) -> str:
        return f"{self._prefix()}:project/{name}"

    def child(self, project: str, kind: str, name: str) -> str:
        return f"{self.project(project)}/{kind}/{name}"

    def segment(self, name: str) -> str:
        return f"{self._prefix()}:segment/{name}"


def project_name(identifier: str) -> str:
    """Every `project` parameter takes a name or an ARN."""
    match = _PROJECT_ARN.match(identifier)
    if match:
        return match.group(1)
    if identifier.startswith("arn:"):
        raise ValidationException(f"project ARN {identifier!r} is malformed", field="project")
    return identifier


def segment_name(identifier: str) -> str:
    match = _RESOURCE_ARN.match(identifier)
    if match and match.group("segment"):
        return match.group("segment")
    if identifier.startswith("arn:"):
        raise ValidationException(f"segment ARN {identifier!r} is malformed", field="segment")
    return identifier


@dataclass(frozen=True, slots=True)
class ResourceRef:
    kind: str  # project, feature, launch, experiment, segment
    project: str | None
    name: str


def parse_resource_arn(arn: str) -> ResourceRef:
    match = _RESOURCE_ARN.match(arn)
    if not match:
        raise ResourceNotFoundException(
            f"resourceArn {arn!r} is not an Evidently resource ARN", arn, "resource"
        )
    if match.group("segment"):
        return ResourceRef("segment", None, match.group("segment"))
    if match.group("kind"):
        return ResourceRef(match.group("kind"), match.group("project"), match.group("name"))
    return ResourceRef("project", None, match.group("project"))
