"""Access keys: who may call which operations, on which projects. Pure.

Evidently sat behind SigV4 and IAM; Verdict keeps its own keys, as events like every
other resource (created, revoked), with the secret sealed by the installation's master
key. A key has one scope:

- ``admin``: everything;
- ``read``: the control plane's reads (Get*, List*, results and analyses), nothing that
  changes a resource;
- ``data``: the data plane only, EvaluateFeature, BatchEvaluateFeature and
  PutProjectEvents.

Any scope may be limited to named projects; a request about no project (ListProjects,
CreateProject, ListSegments, ...) is then refused, since it could reach the others. A
listing across projects (a lab's experiments) is the exception: it answers such a key
with its projects' items only.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from shared.domain.errors import Conflict, Invalid
from shared.domain.events import AccessKeyCreated, AccessKeyRevoked
from shared.domain.resources import access_key_ref


class Scope(StrEnum):
    ADMIN = "admin"
    READ = "read"
    DATA = "data"


class OperationClass(StrEnum):
    DATA = "data"
    READ = "read"
    WRITE = "write"


DATA_OPERATIONS = frozenset({"EvaluateFeature", "BatchEvaluateFeature", "PutProjectEvents"})
# Reads: results, analyses and aggregates are all named Get*; metrics carry resource names.
_READ_PREFIXES = ("Get", "List")
_READS = frozenset({"Metrics"})
# About no one project, and answered with only the items of the projects a key reaches.
ACROSS_PROJECTS = frozenset({"ListLabExperiments"})
# Answered to anyone: liveness, readiness and the API's own description hold no data.
PUBLIC_OPERATIONS = frozenset({"Healthz", "Readyz", "OpenApi"})

ALLOWED: dict[Scope, frozenset[OperationClass]] = {
    Scope.ADMIN: frozenset(OperationClass),
    Scope.READ: frozenset({OperationClass.READ}),
    Scope.DATA: frozenset({OperationClass.DATA}),
}

# As AWS shapes its own: 20 characters from a fixed alphabet, "AKIA" for long-term keys;
# Verdict's start "VKIA" so they are never mistaken for (or leaked as) AWS keys.
KEY_ID_PREFIX = "VKIA"
_KEY_ID = re.compile(rf"^{KEY_ID_PREFIX}[A-Z2-7]{{16}}$")


def operation_class(operation: str) -> OperationClass:
    if operation in DATA_OPERATIONS:
        return OperationClass.DATA
    if operation.startswith(_READ_PREFIXES) or operation in _READS:
        return OperationClass.READ
    return OperationClass.WRITE


@dataclass(frozen=True, slots=True)
class AccessKey:
    key_id: str
    sealed_secret: str
    scope: Scope
    projects: tuple[str, ...]
    description: str | None
    created_at: datetime
    revoked_at: datetime | None = None
    version: int = 0

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def permits(self, operation: str, project: str | None) -> bool:
        """Whether this key may call ``operation`` about ``project`` (None: no project)."""
        if not self.active or operation_class(operation) not in ALLOWED[self.scope]:
            return False
        if project is None and operation in ACROSS_PROJECTS:
            return True
        return self.reaches(project)

    def reaches(self, project: str | None) -> bool:
        """Whether this key's projects include ``project`` (None: no project)."""
        if not self.projects:
            return True
        return project is not None and project in self.projects


def is_key_id(text: str) -> bool:
    return bool(_KEY_ID.match(text))


def stream(key_id: str) -> str:
    return access_key_ref(key_id).stream


def create_key(
    existing: AccessKey | None,
    *,
    key_id: str,
    sealed_secret: str,
    scope: str,
    projects: Collection[str],
    known_projects: Collection[str],
    description: str | None,
    now: datetime,
) -> list[AccessKeyCreated]:
    if existing is not None:
        raise Conflict(f"access key {key_id} already exists", key_id, "AccessKey")
    if not is_key_id(key_id):
        raise Invalid(f"{key_id!r} is not an access key id", field="keyId")
    try:
        chosen = Scope(scope)
    except ValueError:
        raise Invalid(
            f"scope is one of {', '.join(s.value for s in Scope)}", field="scope"
        ) from None
    unknown = sorted(set(projects) - set(known_projects))
    if unknown:
        raise Invalid(f"no such projects: {', '.join(unknown)}", field="projects")
    return [
        AccessKeyCreated(
            now, key_id, sealed_secret, chosen.value, tuple(sorted(set(projects))), description
        )
    ]


def revoke_key(key: AccessKey, *, now: datetime) -> list[AccessKeyRevoked]:
    if not key.active:
        return []  # revoking twice changes nothing
    return [AccessKeyRevoked(now)]


def apply(key: AccessKey | None, event: object, version: int) -> AccessKey | None:
    match event:
        case AccessKeyCreated():
            return AccessKey(
                event.key_id,
                event.sealed_secret,
                Scope(event.scope),
                tuple(event.projects),
                event.description,
                event.at,
                version=version,
            )
        case AccessKeyRevoked() if key is not None:
            return replace(key, revoked_at=event.at, version=version)
    return key
