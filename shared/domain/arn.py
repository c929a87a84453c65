"""Evidently ARNs: arn:aws:evidently:{region}:{account}:project/{name}[/{kind}/{name}].

The one place an ARN becomes a name. Only ARNs of this deployment's region and
account are accepted: another's names a resource this service does not hold,
and resolving it to the local resource of the same name would act on the wrong one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.domain.errors import Invalid, NotFound
from shared.domain.resources import ResourceKind, ResourceRef

_NAME = r"[-a-zA-Z0-9._]+"
_ARN = re.compile(
    r"^arn:(?P<partition>[^:]*):(?P<service>[^:]*):(?P<region>[^:]*):(?P<account>[^:]*):"
    rf"(?:project/(?P<project>{_NAME})(?:/(?P<kind>feature|launch|experiment)/(?P<name>{_NAME}))?"
    rf"|segment/(?P<segment>{_NAME}))$"
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

    def resource(self, arn: str, field: str = "resourceArn") -> ResourceRef:
        """The resource an ARN of this region and account names.

        An ARN of another service names nothing Verdict holds (not found); an Evidently
        ARN of another region or account is refused, never read as a local name."""
        ref = self._parse(arn, field)
        if ref is None:
            raise NotFound(
                f"{field} {arn!r} is not an Evidently project, feature, launch, experiment"
                " or segment ARN",
                arn,
                "resource",
            )
        return ref

    def project_name(self, ref: str, field: str = "project") -> str:
        """Every `project` parameter takes a name or an ARN."""
        return self._name(ref, "project", field)

    def segment_name(self, ref: str, field: str = "segment") -> str:
        return self._name(ref, "segment", field)

    def _name(self, ref: str, kind: str, field: str) -> str:
        if not ref.startswith("arn:"):
            return ref
        found = self._parse(ref, field)
        if found is None or found.kind != kind:
            raise Invalid(
                f"{field} {ref!r} is not a {kind} ARN ({self._prefix()}:{kind}/NAME)", field=field
            )
        return found.name

    def _parse(self, arn: str, field: str) -> ResourceRef | None:
        # fullmatch: "$" would also match before a final newline.
        match = _ARN.fullmatch(arn)
        if not match or match["partition"] != "aws" or match["service"] != "evidently":
            if arn.startswith("arn:aws:evidently:"):
                raise Invalid(
                    f"{field} {arn!r} is not an Evidently project, feature, launch,"
                    " experiment or segment ARN",
                    field=field,
                )
            return None
        if match["region"] != self.region or match["account"] != self.account_id:
            raise Invalid(
                f"{field} {arn!r} names another region or account; this service is"
                f" {self.region}, account {self.account_id}",
                field=field,
            )
        if match["segment"]:
            return ResourceRef(ResourceKind.SEGMENT, None, match["segment"])
        if match["kind"]:
            return ResourceRef(ResourceKind(match["kind"]), match["project"], match["name"])
        return ResourceRef(ResourceKind.PROJECT, None, match["project"])
