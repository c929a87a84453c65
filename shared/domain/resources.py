"""What names a resource: its kind, its project (for the kinds that live in one) and its
name. One value serves as the ARN's subject and as the event stream's id, so the two
can never drift apart."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ResourceKind(StrEnum):
    PROJECT = "project"
    FEATURE = "feature"
    LAUNCH = "launch"
    EXPERIMENT = "experiment"
    SEGMENT = "segment"
    ACCESS_KEY = "accesskey"


# Kinds that live inside a project.
IN_PROJECT = frozenset({ResourceKind.FEATURE, ResourceKind.LAUNCH, ResourceKind.EXPERIMENT})


@dataclass(frozen=True, slots=True)
class ResourceRef:
    kind: ResourceKind
    project: str | None
    name: str

    @property
    def stream(self) -> str:
        """The event stream's id: ``kind-name``, or ``kind-project/name`` in a project."""
        if self.kind in IN_PROJECT:
            return f"{self.kind.value}-{self.project}/{self.name}"
        return f"{self.kind.value}-{self.name}"

    @classmethod
    def from_stream(cls, stream: str) -> ResourceRef:
        kind_text, _, rest = stream.partition("-")
        kind = ResourceKind(kind_text)
        if kind in IN_PROJECT:
            project, _, name = rest.partition("/")
            return cls(kind, project, name)
        return cls(kind, None, rest)


def project_ref(name: str) -> ResourceRef:
    return ResourceRef(ResourceKind.PROJECT, None, name)


def segment_ref(name: str) -> ResourceRef:
    return ResourceRef(ResourceKind.SEGMENT, None, name)


def access_key_ref(key_id: str) -> ResourceRef:
    return ResourceRef(ResourceKind.ACCESS_KEY, None, key_id)
