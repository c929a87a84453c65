"""Validators compiled from the model's shapes: required members, JSON types without
coercion, lengths, ranges, patterns, enums, list and map sizes, unions.

Each shape compiles once into a closure; a valid document costs a few dictionary
lookups and type checks per member. Problems are collected, not raised one at a
time, so a caller sees every bad member of a request at once, as AWS reports them
("2 validation errors detected: ...").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from functools import cache
from typing import Any

from shared.edge.model import ServiceModel, Shape
from shared.errors import ValidationException

# (where, what) pairs: "events.1.member.timestamp", "Member must not be null".
Problems = list[tuple[str, str]]
Check = Callable[[Any, str, Problems], None]

INT32 = (-(2**31), 2**31 - 1)
INT64 = (-(2**63), 2**63 - 1)


def python_pattern(pattern: str) -> str:
    """A Smithy (ECMAScript) pattern as a Python one.

    ECMAScript's ``$`` matches only at the very end; Python's also before a final
    newline, which would let "name\\n" through ``^[-a-zA-Z0-9._]*$``. So an
    unescaped ``$`` outside a character class becomes ``\\Z``.
    """
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif char == "[":
            in_class = True
            out.append(char)
        elif char == "]":
            in_class = False
            out.append(char)
        elif char == "$" and not in_class:
            out.append(r"\Z")
        else:
            out.append(char)
    return "".join(out)


def _json_type(value: Any) -> str:
    return {
        bool: "boolean",
        int: "integer",
        float: "number",
        str: "string",
        list: "list",
        dict: "object",
    }.get(type(value), type(value).__name__)


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class Compiler:
    """Compiles shapes of one model; each shape once."""

    def __init__(self, model: ServiceModel) -> None:
        self.model = model
        self._checks: dict[str, Check] = {}

    def check(self, shape_name: str) -> Check:
        found = self._checks.get(shape_name)
        if found is not None:
            return found
        # A forward reference first, so a recursive shape compiles.
        self._checks[shape_name] = lambda v, p, problems: self._checks[shape_name](v, p, problems)
        compiled = self._compile(self.model.shape(shape_name))
        self._checks[shape_name] = compiled
        return compiled

    def structure_without(self, shape_name: str, excluded: frozenset[str]) -> Check:
        """A structure's check over all but some members (the labels, checked apart)."""
        shape = self.model.shape(shape_name)
        members = {k: v for k, v in shape.members.items() if k not in excluded}
        return self._structure(replace(shape, members=members, required=shape.required - excluded))

    def _compile(self, shape: Shape) -> Check:
        kind = shape.type
        if kind == "structure":
            return self._structure(shape)
        if kind == "list":
            return self._list(shape)
        if kind == "map":
            return self._map(shape)
        if kind == "string":
            return _string(shape)
        if kind in ("integer", "long"):
            return _integer(shape, INT32 if kind == "integer" else INT64)
        if kind in ("double", "float"):
            return _number(shape, "double")
        if kind == "timestamp":
            return _timestamp()
        if kind == "boolean":
            return _boolean()
        raise ValueError(f"shape {shape.name}: type {kind} is not supported")

    def _structure(self, shape: Shape) -> Check:
        members = [
            (name, name in shape.required, self.check(member.shape))
            for name, member in shape.members.items()
        ]
        union = shape.union
        names = ", ".join(shape.members)

        def check(value: Any, path: str, problems: Problems) -> None:
            if type(value) is not dict:
                problems.append((path, f"Member must be a structure (got {_json_type(value)})"))
                return
            present = 0
            for name, required, inner in members:
                item = value.get(name)
                if item is None:
                    if required:
                        problems.append((_join(path, name), "Member must not be null"))
                    continue
                present += 1
                inner(item, f"{path}.{name}" if path else name, problems)
            if union and present != 1:
                problems.append(
                    (path, f"Member must have exactly one of {names} set (got {present})")
                )

        return check

    def _list(self, shape: Shape) -> Check:
        assert shape.member is not None
        inner = self.check(shape.member)
        low, high = shape.min, shape.max

        def check(value: Any, path: str, problems: Problems) -> None:
            if type(value) is not list:
                problems.append((path, f"Member must be a list (got {_json_type(value)})"))
                return
            _length(len(value), low, high, path, problems)
            for i, item in enumerate(value, 1):
                where = f"{path}.{i}.member"
                if item is None:
                    problems.append((where, "Member must not be null"))
                else:
                    inner(item, where, problems)

        return check

    def _map(self, shape: Shape) -> Check:
        assert shape.key is not None and shape.value is not None
        key_check = self.check(shape.key)
        value_check = self.check(shape.value)
        low, high = shape.min, shape.max

        def check(value: Any, path: str, problems: Problems) -> None:
            if type(value) is not dict:
                problems.append((path, f"Member must be a map (got {_json_type(value)})"))
                return
            _length(len(value), low, high, path, problems)
            for key, item in value.items():
                key_check(key, f"{path}.key", problems)
                if item is None:
                    problems.append((f"{path}.{key}", "Member must not be null"))
                else:
                    value_check(item, f"{path}.{key}", problems)

        return check


def _length(size: int, low: float | None, high: float | None, path: str, p: Problems) -> None:
    if low is not None and size < low:
        p.append((path, f"Member must have length greater than or equal to {int(low)}"))
    if high is not None and size > high:
        p.append((path, f"Member must have length less than or equal to {int(high)}"))


def _string(shape: Shape) -> Check:
    low, high = shape.min, shape.max
    enum = frozenset(shape.enum)
    enum_text = ", ".join(shape.enum)
    pattern = shape.pattern
    # ".*" with search semantics matches every string: skip the regex call.
    search = None
    if pattern and pattern not in (".*", "^.*$"):
        search = re.compile(python_pattern(pattern)).search

    def check(value: Any, path: str, problems: Problems) -> None:
        if type(value) is not str:
            problems.append((path, f"Member must be a string (got {_json_type(value)})"))
            return
        if enum and value not in enum:
            problems.append((path, f"Member must satisfy enum value set: [{enum_text}]"))
            return
        if "\x00" in value:
            # PostgreSQL stores no U+0000 in text or jsonb: refused here, in every member,
            # instead of failing the write that would store it (found by fuzzing).
            problems.append((path, "Member must not contain the character U+0000 (NUL)"))
        _length(len(value), low, high, path, problems)
        if search is not None and search(value) is None:
            problems.append((path, f"Member must satisfy regular expression pattern: {pattern}"))

    return check


def _range(value: float, shape: Shape, path: str, problems: Problems) -> None:
    if shape.min is not None and value < shape.min:
        problems.append((path, f"Member must have value greater than or equal to {shape.min}"))
    if shape.max is not None and value > shape.max:
        problems.append((path, f"Member must have value less than or equal to {shape.max}"))


def _integer(shape: Shape, bounds: tuple[int, int]) -> Check:
    kind = "an integer" if bounds == INT32 else "a long"

    def check(value: Any, path: str, problems: Problems) -> None:
        if type(value) is not int or not bounds[0] <= value <= bounds[1]:
            problems.append((path, f"Member must be {kind} (got {_json_type(value)})"))
            return
        _range(value, shape, path, problems)

    return check


def _number(shape: Shape, kind: str) -> Check:
    def check(value: Any, path: str, problems: Problems) -> None:
        if type(value) is not float and type(value) is not int:
            problems.append((path, f"Member must be a {kind} (got {_json_type(value)})"))
            return
        _range(value, shape, path, problems)

    return check


def _timestamp() -> Check:
    def check(value: Any, path: str, problems: Problems) -> None:
        # rest-json sends timestamps as epoch seconds, a JSON number (botocore's
        # default timestampFormat for the protocol): an ISO string is not one.
        if type(value) is not float and type(value) is not int:
            problems.append(
                (path, f"Member must be a timestamp in epoch seconds (got {_json_type(value)})")
            )

    return check


def _boolean() -> Check:
    def check(value: Any, path: str, problems: Problems) -> None:
        if type(value) is not bool:
            problems.append((path, f"Member must be a boolean (got {_json_type(value)})"))

    return check


def failure(problems: Problems) -> ValidationException:
    """One ValidationException for every problem found, as AWS words it."""
    count = len(problems)
    details = "; ".join(
        f"Value at '{where}' failed to satisfy constraint: {what}" for where, what in problems
    )
    message = f"{count} validation error{'s' if count > 1 else ''} detected: {details}"
    return ValidationException(
        message,
        field_list=[{"name": where, "message": what} for where, what in problems],
    )


@cache
def compiler(model: ServiceModel) -> Compiler:
    return Compiler(model)
