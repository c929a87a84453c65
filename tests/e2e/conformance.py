"""Conformance cases generated from botocore's ``evidently`` 2021-02-01 model.

botocore's copy of the model is the reference here, independent of the one Verdict
vendors in ``shared/edge/model``: what the server answers is checked against what a
stock boto3 1.42.50 would expect, not against Verdict's own reading of the model.

Three things live here:

- ``Checker``: a value against a shape (required members, types as rest-json sends
  them, enums, lengths, ranges, patterns with ``re.search``, no undocumented members).
  It checks responses, and it double-checks the generator's own inputs.
- ``BASELINES`` and ``generate``: one model-valid input per operation (sometimes
  more), and from it one invalid variant per (member path, constraint).
- ``VALID_CALLS``: one valid boto3 call of every operation, in an order that works
  against one set of real resources.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import botocore.loaders
from botocore.model import ServiceModel
from botocore.validate import ParamValidator

from tests.e2e.helpers import metric_goal, now, propagated, variations

REPO = Path(__file__).resolve().parents[2]
EXTENSIONS = REPO / "shared" / "edge" / "model" / "verdict-extensions.json"

REGION = "us-east-1"
ACCOUNT = "000000000000"
ARN = f"arn:aws:evidently:{REGION}:{ACCOUNT}"

# The data plane and the results service own these; the command service the rest.
OWNER = {
    "EvaluateFeature": "evaluation",
    "BatchEvaluateFeature": "evaluation",
    "PutProjectEvents": "evaluation",
    "GetExperimentResults": "results",
}

# Label shapes that may carry an ARN: Verdict serves one region and one account, so an
# ARN naming another is a ValidationException (not a lookup that finds nothing).
ARN_LABEL_SHAPES = {"ProjectRef": "project", "SegmentRef": "segment", "Arn": "project"}

# Tried in order for a string that fails a pattern while keeping within its length.
PATTERN_CANDIDATES = ("a b!", "x/y", "aws:x", "\n", "ü", "")

# 2026-01-01T00:00:00Z and a day later; 2100-01-01 for "complete the analysis by".
T0 = 1767225600
T1 = T0 + 86400
T_FUTURE = 4102444800


@cache
def raw_model() -> dict[str, Any]:
    model: dict[str, Any] = botocore.loaders.Loader().load_service_model("evidently", "service-2")
    return model


@cache
def service_model() -> ServiceModel:
    return ServiceModel(raw_model(), service_name="evidently")


def shapes() -> dict[str, Any]:
    shapes_: dict[str, Any] = raw_model()["shapes"]
    return shapes_


def operations() -> dict[str, Any]:
    ops: dict[str, Any] = raw_model()["operations"]
    return ops


def input_shape(operation: str) -> str:
    name: str = operations()[operation]["input"]["shape"]
    return name


def output_shape(operation: str) -> str:
    name: str = operations()[operation]["output"]["shape"]
    return name


@cache
def extensions() -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Verdict's documented extra members, by shape, and the shapes they refer to.

    Only these may appear in a response beyond botocore's members; without the file,
    none may.
    """
    if not EXTENSIONS.exists():
        return {}, {}
    raw = json.loads(EXTENSIONS.read_text())
    return raw.get("members", {}), raw.get("shapes", {})


def widened(shape_name: str) -> dict[str, Any]:
    """The range of an Evidently shape as Verdict serves it: verdict-extensions.json
    redefines a few (ResultsPeriod from 60 s, where botocore says 300), and invalid values
    are made past Verdict's bounds; a stock boto3 refuses the values between on its side."""
    shape: dict[str, Any] = shapes()[shape_name]
    redefined = extensions()[1].get(shape_name, {})
    return {**shape, **{k: v for k, v in redefined.items() if k in ("min", "max")}}


# -- the checker ------------------------------------------------------------------


def join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


Deviation = tuple[str, str]


@dataclass
class Checker:
    """Checks a JSON value against a shape, collecting every deviation as (path, what).

    List elements are addressed ``[i]`` and map keys and values ``{key}``/``{value}``,
    the same paths the generator names its variants by.
    """

    shapes: dict[str, Any]
    extra_members: dict[str, dict[str, Any]] = field(default_factory=dict)

    @classmethod
    def for_responses(cls) -> Checker:
        members, extra_shapes = extensions()
        # Extension shapes only add names; botocore's own shapes are never redefined.
        return cls({**extra_shapes, **shapes()}, members)

    @classmethod
    def for_requests(cls) -> Checker:
        return cls(shapes())

    def check(self, shape_name: str, value: Any, path: str = "") -> list[Deviation]:
        found: list[Deviation] = []
        self._value(shape_name, value, path, False, found)
        return found

    def _value(
        self, shape_name: str, value: Any, path: str, jsonvalue: bool, found: list[Deviation]
    ) -> None:
        shape = self.shapes[shape_name]
        kind = shape["type"]

        number = isinstance(value, int | float) and not isinstance(value, bool)
        # rest-json sends timestamps as epoch seconds (botocore's default for the
        # protocol; the model sets no timestampFormat).
        expected, ok = {
            "structure": ("an object", isinstance(value, dict)),
            "map": ("an object", isinstance(value, dict)),
            "list": ("an array", isinstance(value, list)),
            "string": ("a string", isinstance(value, str)),
            "blob": ("base64 text", isinstance(value, str)),
            "boolean": ("a boolean", isinstance(value, bool)),
            "integer": ("an integer", number and isinstance(value, int)),
            "long": ("an integer", number and isinstance(value, int)),
            "double": ("a finite number", number and math.isfinite(value)),
            "float": ("a finite number", number and math.isfinite(value)),
            "timestamp": ("epoch seconds", number),
        }[kind]
        if not ok:
            found.append((path, f"expected {expected} ({shape_name}), got {value!r:.80}"))
        elif kind == "structure":
            self._structure(shape_name, shape, value, path, found)
        elif kind == "list":
            self._size(shape, len(value), path, found)
            for i, item in enumerate(value):
                self._value(shape["member"]["shape"], item, f"{path}[{i}]", False, found)
        elif kind == "map":
            self._size(shape, len(value), path, found)
            for key, item in value.items():
                self._value(shape["key"]["shape"], key, f"{path}{{key}}", False, found)
                self._value(shape["value"]["shape"], item, f"{path}{{value}}", False, found)
        elif kind == "string":
            self._string(shape_name, shape, value, path, jsonvalue, found)
        elif kind in ("integer", "long", "double", "float"):
            self._range(shape, value, path, found)

    def _structure(
        self,
        shape_name: str,
        shape: dict[str, Any],
        value: dict[str, Any],
        path: str,
        found: list[Deviation],
    ) -> None:
        members: dict[str, Any] = {
            **self.extra_members.get(shape_name, {}),
            **shape["members"],
        }
        by_wire = {m.get("locationName", name): (name, m) for name, m in members.items()}
        for required in shape.get("required", []):
            if value.get(members[required].get("locationName", required)) is None:
                found.append((join(path, required), "required member missing"))
        if shape.get("union"):
            set_ = [k for k, v in value.items() if v is not None]
            if len(set_) != 1:
                found.append((path, f"union {shape_name} has {len(set_)} members set: {set_}"))
        for wire, item in value.items():
            if wire not in by_wire:
                found.append((join(path, wire), f"undocumented member of {shape_name}"))
                continue
            name, member = by_wire[wire]
            if item is None:
                found.append((join(path, name), "null; an absent member is omitted"))
                continue
            self._value(
                member["shape"], item, join(path, name), member.get("jsonvalue", False), found
            )

    def _string(
        self,
        shape_name: str,
        shape: dict[str, Any],
        value: str,
        path: str,
        jsonvalue: bool,
        found: list[Deviation],
    ) -> None:
        if "enum" in shape and value not in shape["enum"]:
            found.append((path, f"{value!r:.80} is not one of {shape['enum']}"))
        if "min" in shape and len(value) < shape["min"]:
            found.append((path, f"length {len(value)} < min {shape['min']}"))
        if "max" in shape and len(value) > shape["max"]:
            found.append((path, f"length {len(value)} > max {shape['max']}"))
        # Smithy patterns are unanchored: a match anywhere satisfies them.
        if "pattern" in shape and not re.search(shape["pattern"], value):
            found.append((path, f"{value!r:.80} fails pattern {shape['pattern']!r}"))
        if jsonvalue:
            try:
                json.loads(value)
            except ValueError:
                found.append((path, f"not JSON text, though {shape_name} is a jsonvalue"))

    @staticmethod
    def _range(shape: dict[str, Any], value: float, path: str, found: list[Deviation]) -> None:
        if "min" in shape and value < shape["min"]:
            found.append((path, f"{value} < min {shape['min']}"))
        if "max" in shape and value > shape["max"]:
            found.append((path, f"{value} > max {shape['max']}"))

    @staticmethod
    def _size(shape: dict[str, Any], size: int, path: str, found: list[Deviation]) -> None:
        if "min" in shape and size < shape["min"]:
            found.append((path, f"{size} entries < min {shape['min']}"))
        if "max" in shape and size > shape["max"]:
            found.append((path, f"{size} entries > max {shape['max']}"))


def botocore_errors(operation: str, params: dict[str, Any]) -> str:
    """botocore's own parameter validation report; empty when it finds nothing.

    It checks required members, types, ``min`` and unions, but not ``max``, enums or
    patterns. Wire values suit it as they are: it accepts epoch numbers for timestamps.
    """
    shape = service_model().operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    return str(report.generate_report()) if report.has_errors() else ""


# -- baselines ----------------------------------------------------------------------

METRIC_DEFINITION: dict[str, Any] = {
    "entityIdKey": "userDetails.userId",
    "eventPattern": json.dumps({"details": {"revenue": [{"exists": True}]}}),
    "name": "revenue",
    "unitLabel": "USD",
    "valueKey": "details.revenue",
}
METRIC_GOAL: dict[str, Any] = {"desiredChange": "INCREASE", "metricDefinition": METRIC_DEFINITION}
TREATMENTS: list[dict[str, Any]] = [
    {"description": "d", "feature": "f", "name": "control", "variation": "control"},
    {"feature": "f", "name": "treatment", "variation": "treatment"},
]
ONLINE_AB: dict[str, Any] = {
    "controlTreatmentName": "control",
    "treatmentWeights": {"control": 50000, "treatment": 50000},
}
LAUNCH_GROUPS: list[dict[str, Any]] = [
    {"description": "d", "feature": "f", "name": "g1", "variation": "on"}
]
SPLITS: dict[str, Any] = {
    "steps": [
        {
            "groupWeights": {"g1": 100000},
            "segmentOverrides": [{"evaluationOrder": 1, "segment": "s", "weights": {"g1": 100000}}],
            "startTime": T0,
        }
    ]
}
TAGS = {"team": "growth"}
PROJECT_ARN = f"{ARN}:project/p"
APP_CONFIG = {"applicationId": "abc1234", "environmentId": "def5678"}
CLOUDWATCH = {"logGroup": "verdict/events"}
S3 = {"bucket": "my-bucket", "prefix": "events/"}


def _listing(**labels: Any) -> list[dict[str, Any]]:
    # A nextToken the server never issued may well be refused as such; it sits in a
    # baseline of its own so it only ever carries its own variants.
    return [{**labels, "maxResults": 10}, {**labels, "nextToken": "tok"}]


# Each operation's model-valid inputs, in wire terms: timestamps are epoch seconds,
# jsonvalue members JSON text. Members the server may treat specially (AppConfig,
# the second data-delivery destination) have a baseline of their own, so a variant
# fails for its one broken constraint and nothing else. They name no real resources:
# validation comes before any lookup.
BASELINES: dict[str, list[dict[str, Any]]] = {
    "BatchEvaluateFeature": [
        {
            "project": "p",
            "requests": [
                {"entityId": "u1", "evaluationContext": '{"country":"NZ"}', "feature": "f"}
            ],
        }
    ],
    "CreateExperiment": [
        {
            "project": "p",
            "name": "e",
            "description": "d",
            "metricGoals": [METRIC_GOAL],
            "onlineAbConfig": ONLINE_AB,
            "randomizationSalt": "salt",
            "samplingRate": 100000,
            "segment": "s",
            "tags": TAGS,
            "treatments": TREATMENTS,
        }
    ],
    "CreateFeature": [
        {
            "project": "p",
            "name": "f",
            "defaultVariation": "on",
            "description": "d",
            "entityOverrides": {"u1": "on"},
            "evaluationStrategy": "ALL_RULES",
            "tags": TAGS,
            "variations": [{"name": "on", "value": {"boolValue": True}}],
        }
    ],
    "CreateLaunch": [
        {
            "project": "p",
            "name": "l",
            "description": "d",
            "groups": LAUNCH_GROUPS,
            "metricMonitors": [{"metricDefinition": METRIC_DEFINITION}],
            "randomizationSalt": "salt",
            "scheduledSplitsConfig": SPLITS,
            "tags": TAGS,
        }
    ],
    "CreateProject": [
        {
            "name": "p",
            "description": "d",
            "dataDelivery": {"cloudWatchLogs": CLOUDWATCH},
            "tags": TAGS,
        },
        {"name": "p", "dataDelivery": {"s3Destination": S3}},
        {"name": "p", "appConfigResource": APP_CONFIG},
    ],
    "CreateSegment": [
        {"name": "s", "description": "d", "pattern": '{"country":["NZ"]}', "tags": TAGS}
    ],
    "DeleteExperiment": [{"project": "p", "experiment": "e"}],
    "DeleteFeature": [{"project": "p", "feature": "f"}],
    "DeleteLaunch": [{"project": "p", "launch": "l"}],
    "DeleteProject": [{"project": "p"}],
    "DeleteSegment": [{"segment": "s"}],
    "EvaluateFeature": [
        {"project": "p", "feature": "f", "entityId": "u1", "evaluationContext": '{"country":"NZ"}'}
    ],
    "GetExperiment": [{"project": "p", "experiment": "e"}],
    "GetExperimentResults": [
        {
            "project": "p",
            "experiment": "e",
            "baseStat": "Mean",
            "startTime": T0,
            "endTime": T1,
            "metricNames": ["revenue"],
            "period": 300,
            "reportNames": ["BayesianInference"],
            "resultStats": ["BaseStat", "PValue"],
            "treatmentNames": ["control", "treatment"],
        }
    ],
    "GetFeature": [{"project": "p", "feature": "f"}],
    "GetLaunch": [{"project": "p", "launch": "l"}],
    "GetProject": [{"project": "p"}],
    "GetSegment": [{"segment": "s"}],
    "ListExperiments": _listing(project="p", status="RUNNING"),
    "ListFeatures": _listing(project="p"),
    "ListLaunches": _listing(project="p", status="RUNNING"),
    "ListProjects": _listing(),
    "ListSegmentReferences": _listing(segment="s", type="LAUNCH"),
    "ListSegments": _listing(),
    "ListTagsForResource": [{"resourceArn": PROJECT_ARN}],
    "PutProjectEvents": [
        {
            "project": "p",
            "events": [
                {
                    "data": '{"details":{"revenue":1}}',
                    "timestamp": T0,
                    "type": "aws.evidently.custom",
                }
            ],
        }
    ],
    "StartExperiment": [{"project": "p", "experiment": "e", "analysisCompleteTime": T_FUTURE}],
    "StartLaunch": [{"project": "p", "launch": "l"}],
    "StopExperiment": [
        {"project": "p", "experiment": "e", "desiredState": "CANCELLED", "reason": "done"}
    ],
    "StopLaunch": [{"project": "p", "launch": "l", "desiredState": "CANCELLED", "reason": "done"}],
    "TagResource": [{"resourceArn": PROJECT_ARN, "tags": TAGS}],
    "TestSegmentPattern": [{"pattern": '{"country":["NZ"]}', "payload": '{"country":"NZ"}'}],
    "UntagResource": [{"resourceArn": PROJECT_ARN, "tagKeys": ["team", "stage"]}],
    "UpdateExperiment": [
        {
            "project": "p",
            "experiment": "e",
            "description": "d",
            "metricGoals": [METRIC_GOAL],
            "onlineAbConfig": ONLINE_AB,
            "randomizationSalt": "salt",
            "removeSegment": False,
            "samplingRate": 50000,
            "segment": "s",
            "treatments": TREATMENTS,
        }
    ],
    "UpdateFeature": [
        {
            "project": "p",
            "feature": "f",
            "addOrUpdateVariations": [{"name": "on", "value": {"boolValue": True}}],
            "defaultVariation": "on",
            "description": "d",
            "entityOverrides": {"u1": "on"},
            "evaluationStrategy": "DEFAULT_VARIATION",
            "removeVariations": ["old"],
        }
    ],
    "UpdateLaunch": [
        {
            "project": "p",
            "launch": "l",
            "description": "d",
            "groups": LAUNCH_GROUPS,
            "metricMonitors": [{"metricDefinition": METRIC_DEFINITION}],
            "randomizationSalt": "salt",
            "scheduledSplitsConfig": SPLITS,
        }
    ],
    "UpdateProject": [
        {"project": "p", "description": "d"},
        {"project": "p", "appConfigResource": APP_CONFIG},
    ],
    "UpdateProjectDataDelivery": [
        {"project": "p", "cloudWatchLogs": CLOUDWATCH},
        {"project": "p", "s3Destination": S3},
    ],
}


# -- variants -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Case:
    """One input that breaks exactly one constraint of one member."""

    operation: str
    path: str
    constraint: str
    # The member the error message must name: the innermost named member of the path.
    member: str
    # "uri", "querystring" or "body".
    location: str
    params: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.operation}-{self.path}-{self.constraint}"

    @property
    def model_constraint(self) -> bool:
        """False for Verdict's own rules (one region and account), which the model lacks."""
        return not self.constraint.startswith("arn-")

    @property
    def botocore_sees(self) -> bool:
        """Whether botocore's ParamValidator reports this variant too.

        It checks required, type, min and unions only; ISO timestamps it accepts and
        converts, and labels it checks for nothing beyond type.
        """
        if self.location == "uri":
            return False
        seen = ("required", "type", "length-min", "size-min", "min", "union-two", "union-zero")
        return self.constraint.startswith(seen) and self.constraint != "type-iso"


@dataclass(frozen=True, slots=True)
class Skip:
    """A constraint that no request can break alone, and why."""

    operation: str
    path: str
    constraint: str
    reason: str


# Given a new value for one node of the input, the whole input with only that node
# replaced: the walk carries one per node, so a variant is ``rebuild(bad)`` and the
# baseline itself is never changed.
Rebuild = Callable[[Any], dict[str, Any]]


def _member_set(rebuild: Rebuild, value: dict[str, Any], name: str) -> Rebuild:
    return lambda new: rebuild({**value, name: new})


def _only_member(rebuild: Rebuild, name: str) -> Rebuild:
    return lambda new: rebuild({name: new})


def _first_item(rebuild: Rebuild, value: list[Any]) -> Rebuild:
    return lambda new: rebuild([new, *value[1:]])


def _first_key(rebuild: Rebuild, value: dict[str, Any], key: str) -> Rebuild:
    return lambda new: rebuild({(new if k == key else k): v for k, v in value.items()})


def sample(shape_name: str) -> Any:
    """A valid value of a scalar shape: the union members the baseline leaves unset."""
    shape = shapes()[shape_name]
    kind = shape["type"]
    if kind == "boolean":
        return True
    if kind in ("double", "float"):
        return 1.5
    if kind in ("integer", "long"):
        return max(shape.get("min", 1), min(1, shape.get("max", 1)))
    if kind == "string":
        return "x" * max(1, shape.get("min", 1))
    raise ValueError(f"no sample for {shape_name} ({kind})")


def fit(value: str, length: int, pattern: str | None, jsonvalue: bool) -> str:
    """A string of exactly ``length`` that keeps the pattern (and JSON) where it can.

    So a length variant breaks the length alone: a 129-character "aaa…" still matches
    ``^[-a-zA-Z0-9._]*$``, and JSON text grows by whitespace, which JSON ignores.
    """
    if jsonvalue and len(value) <= length:
        return value + " " * (length - len(value))
    fillers = [c for c in (value[-1:], "a", "0") if c]
    tried = [(value + f * length)[:length] for f in fillers] + [f * length for f in fillers]
    for candidate in tried:
        if pattern is None or re.search(pattern, candidate):
            return candidate
    return tried[0]


def _arn_like(shape_name: str, value: str, region: str, account: str) -> str:
    if value.startswith("arn:"):
        parts = value.split(":", 5)
        parts[3], parts[4] = region, account
        return ":".join(parts)
    return f"arn:aws:evidently:{region}:{account}:{ARN_LABEL_SHAPES[shape_name]}/{value}"


@dataclass
class _Generator:
    """Walks one operation's baselines, emitting a case per (member path, constraint).

    It follows the baseline: list index 0, a map's first key and its value, and every
    member of a union (one at a time); what the baseline leaves out, it cannot reach.
    """

    operation: str
    cases: dict[str, Case] = field(default_factory=dict)
    skips: dict[str, Skip] = field(default_factory=dict)

    def emit(self, path: str, constraint: str, member: str, location: str, params: Any) -> None:
        case = Case(self.operation, path, constraint, member, location, params)
        # A later baseline only adds the variants the earlier ones could not make.
        self.cases.setdefault(case.id, case)

    def skip(self, path: str, constraint: str, reason: str) -> None:
        self.skips.setdefault(
            f"{path}-{constraint}", Skip(self.operation, path, constraint, reason)
        )

    def structure(
        self,
        shape_name: str,
        value: dict[str, Any],
        path: str,
        rebuild: Rebuild,
        top: bool,
        member: str,
    ) -> None:
        shape = shapes()[shape_name]
        union = shape.get("union", False)
        if not top:
            self.emit(path, "type", member, "body", rebuild("x"))
        if union:
            # Two samples of different members, and none at all.
            names = list(shape["members"])[:2]
            two = {n: sample(shape["members"][n]["shape"]) for n in names}
            self.emit(path, "union-two", member, "body", rebuild(two))
            self.emit(path, "union-zero", member, "body", rebuild({}))
        for name, definition in shape["members"].items():
            location = definition.get("location", "body") if top else "body"
            member_path = join(path, name)
            if name in shape.get("required", []) and location != "uri":
                member_shape = shapes()[definition["shape"]]
                if location == "querystring" and member_shape["type"] == "list":
                    # botocore writes no parameter for an empty list, which is valid
                    # (min 0): absent and empty are the same request.
                    self.skip(member_path, "required", "an empty query list is sent as absent")
                elif name in value:
                    rest = {k: v for k, v in value.items() if k != name}
                    self.emit(member_path, "required", name, location, rebuild(rest))
            if union:
                # One member at a time, as a union holds: each one's constraints in turn.
                item = value.get(name, sample(definition["shape"]))
                child = _only_member(rebuild, name)
            elif name in value:
                item, child = value[name], _member_set(rebuild, value, name)
            else:
                continue
            self.member(definition, item, member_path, child, location, name)

    def member(
        self,
        definition: dict[str, Any],
        value: Any,
        path: str,
        rebuild: Rebuild,
        location: str,
        name: str,
    ) -> None:
        shape_name: str = definition["shape"]
        shape = shapes()[shape_name]
        kind = shape["type"]
        if kind == "structure":
            self.structure(shape_name, value, path, rebuild, False, name)
        elif kind == "list":
            self.collection(shape, value, path, rebuild, location, name, "x")
            if value:
                child = _first_item(rebuild, value)
                self.member(shape["member"], value[0], f"{path}[0]", child, location, name)
        elif kind == "map":
            self.collection(shape, value, path, rebuild, location, name, ["x"])
            if value:
                key = next(iter(value))
                self.scalar(
                    shape["key"]["shape"],
                    key,
                    f"{path}{{key}}",
                    _first_key(rebuild, value, key),
                    "key",
                    name,
                    False,
                )
                self.member(
                    shape["value"],
                    value[key],
                    f"{path}{{value}}",
                    _member_set(rebuild, value, key),
                    "body",
                    name,
                )
        else:
            self.scalar(
                shape_name, value, path, rebuild, location, name, definition.get("jsonvalue", False)
            )

    def collection(
        self,
        shape: dict[str, Any],
        value: Any,
        path: str,
        rebuild: Rebuild,
        location: str,
        name: str,
        wrong: Any,
    ) -> None:
        if location == "body":
            self.emit(path, "type", name, location, rebuild(wrong))
        if shape.get("min", 0) > 0:
            self.emit(path, "size-min", name, location, rebuild(type(value)()))
        if "max" in shape:
            over = shape["max"] + 1
            if isinstance(value, list):
                self.emit(path, "size-max", name, location, rebuild([value[0]] * over))
            else:
                key, item = next(iter(value.items()))
                bigger = {f"{key}{i}": item for i in range(over)}
                self.emit(path, "size-max", name, location, rebuild(bigger))

    def scalar(
        self,
        shape_name: str,
        value: Any,
        path: str,
        rebuild: Rebuild,
        location: str,
        name: str,
        jsonvalue: bool,
    ) -> None:
        shape = shapes()[shape_name]
        kind = shape["type"]

        def emit(constraint: str, bad: Any) -> None:
            self.emit(
                path, constraint, name, "body" if location == "key" else location, rebuild(bad)
            )

        if kind == "string":
            self.string(shape_name, shape, value, path, location, jsonvalue, emit)
        elif kind in ("integer", "long"):
            served = widened(shape_name)
            if location == "body":
                emit("type-string", str(value))
                # Within the range, so only the type is wrong.
                emit(
                    "type-float",
                    value + 0.5 if value + 0.5 <= served.get("max", math.inf) else value - 0.5,
                )
            elif location == "querystring":
                emit("type", "abc")
                emit("type-float", f"{value}.5")
            if "min" in served:
                emit("min", served["min"] - 1)
            if "max" in served:
                emit("max", served["max"] + 1)
        elif kind in ("double", "float"):
            if location == "body":
                emit("type", str(value))
            if "min" in shape:
                emit("min", shape["min"] - 1)
            if "max" in shape:
                emit("max", shape["max"] + 1)
        elif kind == "boolean":
            if location == "body":
                emit("type", "true")
        elif kind == "timestamp":
            emit("type-iso", "2024-01-01T00:00:00Z")
            emit("type-text", "yesterday")
        else:
            raise ValueError(f"{self.operation} {path}: no variants for {kind}")

    def string(
        self,
        shape_name: str,
        shape: dict[str, Any],
        value: str,
        path: str,
        location: str,
        jsonvalue: bool,
        emit: Callable[[str, Any], None],
    ) -> None:
        low, high = shape.get("min", 0), shape.get("max", math.inf)
        pattern: str | None = shape.get("pattern")
        if location == "body":
            if jsonvalue:
                # The JSON document itself rather than its text.
                emit("type-object", {"k": 1})
            else:
                emit("type", 123)
        if low > 0:
            if location == "uri":
                self.skip(path, "length-min", "an empty label changes the route")
            else:
                emit("length-min", fit(value, low - 1, pattern, jsonvalue))
        if "max" in shape:
            emit("length-max", fit(value, high + 1, pattern, jsonvalue))
        if pattern is not None:
            failing = [
                c for c in PATTERN_CANDIDATES if not re.search(pattern, c) and low <= len(c) <= high
            ]
            if failing:
                emit("pattern", failing[0])
            else:
                self.skip(path, "pattern", f"every candidate matches {pattern!r}")
            if location == "uri" and not re.search(pattern, "x/y"):
                # Sent as x%2Fy: the route must stay the same and the label be refused.
                emit("pattern-slash", "x/y")
        if "enum" in shape:
            emit("enum", "NOT_IN_ENUM")
        if location == "uri" and shape_name in ARN_LABEL_SHAPES:
            emit("arn-region", _arn_like(shape_name, value, "us-west-2", ACCOUNT))
            emit("arn-account", _arn_like(shape_name, value, REGION, "123456789012"))


@dataclass(frozen=True, slots=True)
class Generated:
    cases: list[Case]
    skips: list[Skip]


@cache
def generate() -> Generated:
    cases: list[Case] = []
    skips: list[Skip] = []
    for operation in operations():
        generator = _Generator(operation)
        for baseline in BASELINES[operation]:
            generator.structure(input_shape(operation), baseline, "", lambda new: new, True, "")
        cases.extend(generator.cases.values())
        skips.extend(generator.skips.values())
    return Generated(cases, skips)


def expected_constraints(operation: str) -> Iterator[tuple[str, str]]:
    """Every (member path, constraint) of an operation's input, read off the model alone.

    The whole input is walked, so a member a baseline leaves out shows up missing.
    Vacuous bounds (a minimum of 0 on a length or size) break nothing and are left out.
    """

    def walk(shape_name: str, path: str, location: str, jsonvalue: bool) -> Iterator[str]:
        shape = shapes()[shape_name]
        kind = shape["type"]
        if location == "body":
            yield from {
                "timestamp": ("type-iso", "type-text"),
                "integer": ("type-string", "type-float"),
                "long": ("type-string", "type-float"),
                "string": ("type-object",) if jsonvalue else ("type",),
            }.get(kind, ("type",))
        elif location == "querystring" and kind in ("integer", "long"):
            yield "type"
        numeric = kind in ("integer", "long", "double", "float")
        prefix = "" if numeric else "length-" if kind == "string" else "size-"
        if shape.get("min", 0) > 0 or (numeric and "min" in shape):
            yield f"{prefix}min"
        if "max" in shape:
            yield f"{prefix}max"
        if "pattern" in shape:
            yield "pattern"
        if "enum" in shape:
            yield "enum"
        if shape.get("union"):
            yield from ("union-two", "union-zero")

    def members(
        shape_name: str, path: str, location: str, jsonvalue: bool, top: bool
    ) -> Iterator[tuple[str, str]]:
        shape = shapes()[shape_name]
        for constraint in walk(shape_name, path, location, jsonvalue):
            yield path, constraint
        if shape["type"] == "structure":
            for name, definition in shape["members"].items():
                where = definition.get("location", "body") if top else "body"
                member_path = join(path, name)
                if name in shape.get("required", []) and where != "uri":
                    yield member_path, "required"
                yield from members(
                    definition["shape"],
                    member_path,
                    where,
                    definition.get("jsonvalue", False),
                    False,
                )
        elif shape["type"] == "list":
            yield from members(shape["member"]["shape"], f"{path}[0]", location, False, False)
        elif shape["type"] == "map":
            yield from members(shape["key"]["shape"], f"{path}{{key}}", "key", False, False)
            yield from members(shape["value"]["shape"], f"{path}{{value}}", "body", False, False)

    for path, constraint in members(input_shape(operation), "", "body", False, True):
        if path:
            yield path, constraint


# -- the wire ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    body: bytes | None

    @property
    def target(self) -> str:
        """Path and query as botocore writes them: every reserved character escaped."""
        if not self.query:
            return self.path
        pairs = (f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in self.query)
        return f"{self.path}?{'&'.join(pairs)}"


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def request_for(operation: str, params: dict[str, Any]) -> Request:
    """The HTTP request boto3 would send for these params, from the model's bindings."""
    http = operations()[operation]["http"]
    members = shapes()[input_shape(operation)]["members"]
    path: str = http["requestUri"]
    query: list[tuple[str, str]] = []
    body: dict[str, Any] = {}
    for name, value in params.items():
        definition = members[name]
        wire = definition.get("locationName", name)
        location = definition.get("location")
        if location == "uri":
            # Every reserved character escaped, "/" included, as botocore does for a
            # label that is not greedy.
            path = path.replace(f"{{{wire}}}", quote(str(value), safe=""))
        elif location == "querystring":
            items = value if isinstance(value, list) else [value]
            query.extend((wire, _query_text(item)) for item in items)
        else:
            body[wire] = value
    has_body = bool(body) or http["method"] in ("POST", "PUT", "PATCH")
    return Request(http["method"], path, query, json.dumps(body).encode() if has_body else None)


# -- one valid call of every operation ------------------------------------------------


@dataclass(frozen=True, slots=True)
class World:
    """The real resources the valid calls act on; ``uid`` keeps runs apart.

    ``project`` with features ``lf`` (for the launch) and ``xf`` (for the experiment)
    and segment ``segment`` exist before the first call (``prepare``); the calls create,
    use and delete the rest.
    """

    stack: Any
    uid: str

    @property
    def project(self) -> str:
        return f"conf-{self.uid}"

    @property
    def new_project(self) -> str:
        return f"conf-new-{self.uid}"

    @property
    def segment(self) -> str:
        return f"conf-{self.uid}"

    @property
    def new_segment(self) -> str:
        return f"conf-new-{self.uid}"

    @property
    def project_arn(self) -> str:
        return f"{ARN}:project/{self.project}"


PATTERN = json.dumps({"userDetails": {"country": ["NZ"]}})
CONTEXT = json.dumps({"userDetails": {"country": "NZ"}})


def prepare(client: Any, world: World) -> None:
    client.create_project(name=world.project, description="conformance")
    for feature in ("lf", "xf"):
        client.create_feature(
            project=world.project, name=feature, variations=variations("control", "treatment")
        )
    client.create_segment(name=world.segment, pattern=PATTERN)


def _start_experiment(c: Any, w: World) -> Any:
    return c.start_experiment(
        project=w.project, experiment="ne", analysisCompleteTime=now() + timedelta(days=1)
    )


def _evaluate(c: Any, w: World) -> Any:
    # The data plane follows the command service's feed a few milliseconds behind.
    propagated(w.stack)
    return c.evaluate_feature(
        project=w.project, feature="xf", entityId="u1", evaluationContext=CONTEXT
    )


def _results(c: Any, w: World) -> Any:
    """Results with data in them, so resultsData, reports and timestamps get checked too.

    Sixty entities exposed and each given a value: enough for both treatments to pass
    the test stack's ten-entity floor.
    """
    propagated(w.stack)
    entities = [f"r{i}" for i in range(60)]
    for k in range(0, len(entities), 20):
        c.batch_evaluate_feature(
            project=w.project,
            requests=[
                {"feature": "xf", "entityId": e, "evaluationContext": CONTEXT}
                for e in entities[k : k + 20]
            ],
        )
    time.sleep(1.1)  # events are stamped in whole seconds: after every exposure
    for k in range(0, len(entities), 50):
        c.put_project_events(
            project=w.project,
            events=[
                {
                    "timestamp": now(),
                    "type": "aws.evidently.custom",
                    "data": json.dumps(
                        {"userDetails": {"userId": e}, "details": {"revenue": 10.0 + i % 7}}
                    ),
                }
                for i, e in enumerate(entities[k : k + 50])
            ],
        )
    deadline = time.monotonic() + 30
    while True:
        propagated(w.stack, ("results",))
        response = c.get_experiment_results(
            project=w.project,
            experiment="ne",
            metricNames=["revenue"],
            treatmentNames=["control", "treatment"],
            baseStat="Mean",
            resultStats=["BaseStat", "TreatmentEffect", "ConfidenceInterval", "PValue"],
            reportNames=["BayesianInference"],
            period=300,
        )
        # The last call is the one checked: with data once the processor caught up.
        if response.get("resultsData") or time.monotonic() > deadline:
            return response
        time.sleep(0.25)


# In the order they run: creates and updates first, the deletes last, each acting on
# what the earlier ones left. Each entry's last call of its own operation is checked.
VALID_CALLS: dict[str, Callable[[Any, World], Any]] = {
    "CreateProject": lambda c, w: c.create_project(
        name=w.new_project, description="conformance", tags={"suite": "conformance"}
    ),
    "UpdateProject": lambda c, w: c.update_project(project=w.project, description="updated"),
    "UpdateProjectDataDelivery": lambda c, w: c.update_project_data_delivery(
        project=w.project, cloudWatchLogs={"logGroup": "verdict/conformance"}
    ),
    "GetProject": lambda c, w: c.get_project(project=w.project_arn),
    "ListProjects": lambda c, w: c.list_projects(maxResults=50),
    "CreateFeature": lambda c, w: c.create_feature(
        project=w.project,
        name="nf",
        description="to delete",
        variations=variations("a", "b", kind="longValue"),
        defaultVariation="b",
        entityOverrides={"u9": "a"},
        evaluationStrategy="ALL_RULES",
        tags={"suite": "conformance"},
    ),
    "UpdateFeature": lambda c, w: c.update_feature(
        project=w.project,
        feature="nf",
        description="updated",
        addOrUpdateVariations=variations("a", "b", "c", kind="longValue"),
        entityOverrides={"u9": "c"},
    ),
    "GetFeature": lambda c, w: c.get_feature(project=w.project, feature="nf"),
    "ListFeatures": lambda c, w: c.list_features(project=w.project, maxResults=10),
    "CreateSegment": lambda c, w: c.create_segment(
        name=w.new_segment, pattern=PATTERN, description="to delete", tags={"k": "v"}
    ),
    "GetSegment": lambda c, w: c.get_segment(segment=w.segment),
    "ListSegments": lambda c, w: c.list_segments(maxResults=10),
    "TestSegmentPattern": lambda c, w: c.test_segment_pattern(pattern=PATTERN, payload=CONTEXT),
    "CreateLaunch": lambda c, w: c.create_launch(
        project=w.project,
        name="nl",
        description="conformance",
        groups=[
            {"name": "g-control", "feature": "lf", "variation": "control"},
            {"name": "g-treatment", "feature": "lf", "variation": "treatment"},
        ],
        metricMonitors=[{"metricDefinition": metric_goal()["metricDefinition"]}],
        randomizationSalt="salt",
        scheduledSplitsConfig={
            "steps": [
                {
                    "startTime": now() - timedelta(minutes=1),
                    "groupWeights": {"g-control": 90000, "g-treatment": 10000},
                    "segmentOverrides": [
                        {
                            "evaluationOrder": 1,
                            "segment": w.segment,
                            "weights": {"g-control": 0, "g-treatment": 100000},
                        }
                    ],
                }
            ]
        },
        tags={"suite": "conformance"},
    ),
    "UpdateLaunch": lambda c, w: c.update_launch(
        project=w.project, launch="nl", description="updated"
    ),
    "GetLaunch": lambda c, w: c.get_launch(project=w.project, launch="nl"),
    "ListLaunches": lambda c, w: c.list_launches(project=w.project, maxResults=10),
    "CreateExperiment": lambda c, w: c.create_experiment(
        project=w.project,
        name="ne",
        description="conformance",
        treatments=[
            {"name": "control", "feature": "xf", "variation": "control"},
            {"name": "treatment", "feature": "xf", "variation": "treatment"},
        ],
        metricGoals=[metric_goal()],
        onlineAbConfig={
            "controlTreatmentName": "control",
            "treatmentWeights": {"control": 50000, "treatment": 50000},
        },
        randomizationSalt="salt",
        samplingRate=100000,
        segment=w.segment,
        tags={"suite": "conformance"},
    ),
    "UpdateExperiment": lambda c, w: c.update_experiment(
        project=w.project, experiment="ne", description="updated"
    ),
    "GetExperiment": lambda c, w: c.get_experiment(project=w.project, experiment="ne"),
    "ListExperiments": lambda c, w: c.list_experiments(project=w.project, maxResults=10),
    "ListSegmentReferences": lambda c, w: c.list_segment_references(
        segment=w.segment, type="LAUNCH", maxResults=10
    ),
    "TagResource": lambda c, w: c.tag_resource(
        resourceArn=w.project_arn, tags={"stage": "test", "owner": "qa"}
    ),
    "ListTagsForResource": lambda c, w: c.list_tags_for_resource(resourceArn=w.project_arn),
    "UntagResource": lambda c, w: c.untag_resource(resourceArn=w.project_arn, tagKeys=["stage"]),
    "StartLaunch": lambda c, w: c.start_launch(project=w.project, launch="nl"),
    "StartExperiment": _start_experiment,
    "EvaluateFeature": _evaluate,
    "BatchEvaluateFeature": lambda c, w: c.batch_evaluate_feature(
        project=w.project,
        requests=[
            {"feature": "lf", "entityId": "u1"},
            {"feature": "xf", "entityId": "u2", "evaluationContext": CONTEXT},
        ],
    ),
    "PutProjectEvents": lambda c, w: c.put_project_events(
        project=w.project,
        events=[
            {
                "timestamp": now(),
                "type": "aws.evidently.custom",
                "data": json.dumps({"userDetails": {"userId": "u1"}, "details": {"revenue": 3.5}}),
            }
        ],
    ),
    "GetExperimentResults": _results,
    "StopLaunch": lambda c, w: c.stop_launch(
        project=w.project, launch="nl", desiredState="COMPLETED", reason="done"
    ),
    "StopExperiment": lambda c, w: c.stop_experiment(
        project=w.project, experiment="ne", desiredState="CANCELLED", reason="done"
    ),
    "DeleteExperiment": lambda c, w: c.delete_experiment(project=w.project, experiment="ne"),
    "DeleteLaunch": lambda c, w: c.delete_launch(project=w.project, launch="nl"),
    "DeleteFeature": lambda c, w: c.delete_feature(project=w.project, feature="nf"),
    "DeleteSegment": lambda c, w: c.delete_segment(segment=w.new_segment),
    "DeleteProject": lambda c, w: c.delete_project(project=w.new_project),
}
