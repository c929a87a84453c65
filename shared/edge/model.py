"""The Evidently service model as Verdict serves it: botocore's, plus Verdict's extensions.

Read once, at import of the edge: a few hundred shapes, parsed in milliseconds.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

MODEL_DIR = Path(__file__).resolve().parent / "model"
EVIDENTLY_MODEL = MODEL_DIR / "evidently-2021-02-01.json.gz"
EXTENSIONS = MODEL_DIR / "verdict-extensions.json"


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    shape: str
    # "uri", "querystring", "header" or None for the JSON body.
    location: str | None = None
    location_name: str | None = None
    # A string member carrying JSON text (botocore's "jsonvalue").
    json_value: bool = False
    extension: bool = False

    @property
    def wire_name(self) -> str:
        return self.location_name or self.name


@dataclass(frozen=True, slots=True)
class Shape:
    name: str
    type: str
    members: dict[str, Member] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    enum: tuple[str, ...] = ()
    member: str | None = None  # list element shape
    key: str | None = None  # map key shape
    value: str | None = None  # map value shape
    union: bool = False
    documentation: str = ""


@dataclass(frozen=True, slots=True)
class Operation:
    name: str
    method: str
    uri: str
    input: str | None
    output: str | None
    errors: tuple[str, ...]
    extension: bool
    documentation: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class ServiceModel:
    metadata: dict[str, Any]
    operations: dict[str, Operation]
    shapes: dict[str, Shape]

    def shape(self, name: str) -> Shape:
        return self.shapes[name]

    def input_members(self, operation: str) -> dict[str, Member]:
        shape_name = self.operations[operation].input
        return self.shapes[shape_name].members if shape_name else {}


def _member(name: str, raw: dict[str, Any], extension: bool) -> Member:
    return Member(
        name=name,
        shape=raw["shape"],
        location=raw.get("location"),
        location_name=raw.get("locationName"),
        json_value=bool(raw.get("jsonvalue")),
        extension=extension,
    )


def _shape(name: str, raw: dict[str, Any], extension: bool) -> Shape:
    return Shape(
        name=name,
        type=raw["type"],
        members={k: _member(k, v, extension) for k, v in raw.get("members", {}).items()},
        required=frozenset(raw.get("required", ())),
        min=raw.get("min"),
        max=raw.get("max"),
        pattern=raw.get("pattern"),
        enum=tuple(raw.get("enum", ())),
        member=raw.get("member", {}).get("shape"),
        key=raw.get("key", {}).get("shape"),
        value=raw.get("value", {}).get("shape"),
        union=bool(raw.get("union")),
        documentation=raw.get("documentation", ""),
    )


def _operation(raw: dict[str, Any], extension: bool) -> Operation:
    return Operation(
        name=raw["name"],
        method=raw["http"]["method"],
        uri=raw["http"]["requestUri"],
        input=raw.get("input", {}).get("shape"),
        output=raw.get("output", {}).get("shape"),
        errors=tuple(e["shape"] for e in raw.get("errors", ())),
        extension=extension,
        documentation=raw.get("documentation", ""),
    )


def read_evidently() -> dict[str, Any]:
    with gzip.open(EVIDENTLY_MODEL) as handle:
        document: dict[str, Any] = json.load(handle)
    return document


@cache
def load() -> ServiceModel:
    """botocore's evidently model with Verdict's extensions merged in."""
    base = read_evidently()
    extra = json.loads(EXTENSIONS.read_text())
    shapes = {n: _shape(n, s, False) for n, s in base["shapes"].items()}
    shapes.update({n: _shape(n, s, True) for n, s in extra["shapes"].items()})
    for shape_name, added in extra["members"].items():
        shape = shapes[shape_name]
        members = {**shape.members, **{k: _member(k, v, True) for k, v in added.items()}}
        shapes[shape_name] = Shape(**{**_fields(shape), "members": members})
    operations = {n: _operation(o, False) for n, o in base["operations"].items()}
    operations.update({n: _operation(o, True) for n, o in extra["operations"].items()})
    return ServiceModel(base["metadata"], operations, shapes)


def _fields(shape: Shape) -> dict[str, Any]:
    return {name: getattr(shape, name) for name in Shape.__dataclass_fields__}
