"""From a raw request to an operation's validated input document.

Labels come from the raw path segments the route matched, each percent-decoded
on its own; query parameters are read by their ``locationName`` and converted
by their shape's type (the only conversion there is: a query string has no other
way to carry a number); body members come from the JSON body, and only those
the input shape places in the body, so a body can never override a label.
The assembled document is validated against the input shape as a whole, then
name-or-ARN members are resolved to names of this region and account.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

import orjson

from shared.domain.arn import ArnScheme
from shared.edge.model import Member, Operation, ServiceModel
from shared.edge.routing import Route
from shared.edge.validation import Check, Compiler, Problems, compiler, failure
from shared.errors import ValidationException

# Name-or-ARN shapes, resolved to names after validation, and the name shape
# the resolved name must then satisfy.
_REFERENCES = {"ProjectRef": ("project", "ProjectName"), "SegmentRef": ("segment", "SegmentName")}


_INTEGER = re.compile(r"[+-]?[0-9]+")


def decode_label(raw: str, name: str) -> str:
    if "%" not in raw:
        return raw  # nothing encoded: the common case, and the hot path's
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationException(
            f"{name} is not valid percent-encoded UTF-8", field=name
        ) from None


def _query_converter(kind: str) -> Callable[[str], Any]:
    def integer(text: str) -> Any:
        # int() alone would also take "1_0", " 10" and other scripts' digits.
        if not _INTEGER.fullmatch(text):
            raise ValueError(text)
        return int(text)

    def number(text: str) -> Any:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(text)
        return value

    def boolean(text: str) -> Any:
        if text not in ("true", "false"):
            raise ValueError(text)
        return text == "true"

    return {"integer": integer, "long": integer, "double": number, "boolean": boolean}.get(
        kind, str
    )


@dataclass(frozen=True, slots=True)
class QueryMember:
    member: Member
    many: bool
    convert: Callable[[str], Any]
    kind: str


@dataclass(frozen=True, slots=True)
class Label:
    name: str
    check: Check
    # "project" or "segment" for a name-or-ARN label, with the check of the name it
    # resolves to; "arn" for a whole resource ARN; None for a plain name.
    reference: str | None
    name_check: Check | None


def _label(compiled: Compiler, member: Member) -> Label:
    check = compiled.check(member.shape)
    reference = _REFERENCES.get(member.shape)
    if reference is not None:
        return Label(member.name, check, reference[0], compiled.check(reference[1]))
    return Label(member.name, check, "arn" if member.shape == "Arn" else None, None)


# Label values remembered as valid, per operation; past this many the memory starts over.
_KNOWN_LABELS = 4096


class OperationInput:
    """Everything needed to turn one operation's raw request into its input, compiled once.

    Labels are validated and resolved once per distinct value and remembered: clients
    call the same project and feature again and again, and the hot path should not
    pay three regular expressions for them every time."""

    def __init__(self, model: ServiceModel, operation: Operation, route: Route) -> None:
        self.operation = operation
        members = model.input_members(operation.name)
        by_label = {m.wire_name: m for m in members.values() if m.location == "uri"}
        compiled = compiler(model)
        self.labels = tuple(_label(compiled, by_label[name]) for name in route.labels)
        self.query: dict[str, QueryMember] = {}
        for m in members.values():
            if m.location != "querystring":
                continue
            shape = model.shape(m.shape)
            many = shape.type == "list"
            kind = model.shape(shape.member).type if many and shape.member else shape.type
            self.query[m.wire_name] = QueryMember(m, many, _query_converter(kind), kind)
        self.body_members = frozenset(name for name, m in members.items() if m.location is None)
        label_names = frozenset(label.name for label in self.labels)
        self.check: Check | None = (
            compiled.structure_without(operation.input, label_names) if operation.input else None
        )
        # Name-or-ARN members of the body (a segment of an experiment).
        self.references: tuple[tuple[str, str, Check], ...] = tuple(
            (name, _REFERENCES[m.shape][0], compiled.check(_REFERENCES[m.shape][1]))
            for name, m in members.items()
            if m.shape in _REFERENCES and m.location is None
        )
        self._known: dict[tuple[str, ...], dict[str, str]] = {}

    def parse(
        self, raw_labels: tuple[str, ...], query_string: bytes, body: bytes, arns: ArnScheme
    ) -> dict[str, Any]:
        document: dict[str, Any] = {}
        if self.body_members and body:
            document = self._body(body)
        problems: Problems = []
        labels = self._known.get(raw_labels)
        if labels is None:
            labels = self._labels_of(raw_labels, arns, problems)
        if self.query and query_string:
            self._query(query_string, document, problems)
        if self.check is not None:
            self.check(document, "", problems)
        if problems:
            raise failure(problems)
        document.update(labels)
        if self.references:
            self._resolve(document, arns)
        return document

    def _labels_of(
        self, raw_labels: tuple[str, ...], arns: ArnScheme, problems: Problems
    ) -> dict[str, str]:
        values: dict[str, str] = {}
        found = len(problems)
        for label, raw in zip(self.labels, raw_labels, strict=True):
            value = decode_label(raw, label.name)
            label.check(value, label.name, problems)
            if len(problems) > found:
                continue
            if label.reference == "project":
                value = arns.project_name(value, label.name)
            elif label.reference == "segment":
                value = arns.segment_name(value, label.name)
            elif label.reference == "arn":
                arns.resource(value, label.name)
            if label.name_check is not None:
                label.name_check(value, label.name, problems)
            values[label.name] = value
        if len(problems) == found:
            if len(self._known) >= _KNOWN_LABELS:
                self._known.clear()
            self._known[raw_labels] = values
        return values

    def _body(self, body: bytes) -> dict[str, Any]:
        try:
            parsed = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise ValidationException(
                f"the request body is not valid JSON: {exc}", "body"
            ) from None
        if type(parsed) is not dict:
            raise ValidationException("the request body must be a JSON object", field="body")
        return {k: v for k, v in parsed.items() if k in self.body_members}

    def _query(self, query_string: bytes, document: dict[str, Any], problems: Problems) -> None:
        try:
            pairs = parse_qsl(
                query_string.decode("latin-1"),
                keep_blank_values=True,
                encoding="utf-8",
                errors="strict",
            )
        except (UnicodeDecodeError, ValueError):
            raise ValidationException("the query string is not valid UTF-8", "query") from None
        for key, text in pairs:
            spec = self.query.get(key)
            if spec is None:
                continue  # unknown parameters are ignored, as AWS does
            name = spec.member.name
            try:
                value = spec.convert(text)
            except ValueError:
                problems.append((name, f"Member must be a {spec.kind} (got {text[:64]!r})"))
                continue
            if spec.many:
                document.setdefault(name, []).append(value)
            else:
                document[name] = value

    def _resolve(self, document: dict[str, Any], arns: ArnScheme) -> None:
        problems: Problems = []
        for name, kind, check_name in self.references:
            ref = document.get(name)
            if ref is None:
                continue
            resolved = (
                arns.project_name(ref, name) if kind == "project" else arns.segment_name(ref, name)
            )
            check_name(resolved, name, problems)
            document[name] = resolved
        if problems:
            raise failure(problems)
