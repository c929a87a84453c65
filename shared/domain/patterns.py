"""Evidently rule patterns: parsed and validated once, matched per request.

One engine serves TestSegmentPattern, segments (launch overrides, the
experiment segment) and metric ``eventPattern``s. The syntax is the
EventBridge event-pattern syntax that Evidently's "Segment rule pattern
syntax" page documents:

- A pattern is a JSON object; nested objects match nested keys. Every key
  must match (AND); each leaf is a non-empty array of matchers, any of which
  may match (OR).
- Matchers: an exact JSON scalar (numbers compare numerically, so 5 matches
  5.0; true is not 1), ``prefix``, ``suffix``, ``equals-ignore-case``,
  ``wildcard`` (``*`` is any run of characters, ``\\*`` a literal star),
  ``numeric`` (``=``, or a lower and/or upper bound), ``exists`` and
  ``anything-but`` (a value, a list of strings or of numbers, or a
  ``prefix``/``suffix``/``equals-ignore-case``/``wildcard`` object).
- ``prefix`` and ``suffix`` also take ``{"equals-ignore-case": "..."}``.

Context values are leaves as EventBridge sees them: a scalar is one leaf
value, an array contributes each scalar element, and an object is not a leaf.
A leaf matches if any of its values matches; a key with no leaf values
(absent, ``[]`` or an object) is matched only by ``{"exists": false}``.
So ``anything-but`` never matches an absent key, and matches an array if
some element is not excluded. A nested pattern over an array of objects
matches if one element matches it whole.

Not supported, and rejected as unknown matchers: ``$or``, ``cidr`` and
``contains``, which Evidently's page does not list.
"""

from __future__ import annotations

import enum
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeAlias

from shared.domain.errors import Invalid

__all__ = ["Pattern", "compile_pattern"]

SEGMENT_PATTERN_MAX_LENGTH = 1024
"""Longest segment pattern Evidently accepts (botocore ``SegmentPattern``)."""


class _Literal(enum.Enum):
    TRUE = "true"
    FALSE = "false"
    NULL = "null"


# The identity of a JSON scalar for set lookups. Booleans and null get their
# own members because True == 1 and hash(True) == hash(1) in Python.
_Key: TypeAlias = str | int | float | _Literal

_MISSING = object()
_EMPTY: Mapping[str, object] = {}


def _key(value: object) -> _Key | None:
    if value is True:
        return _Literal.TRUE
    if value is False:
        return _Literal.FALSE
    if value is None:
        return _Literal.NULL
    if isinstance(value, str | int | float):
        return value
    return None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# --- compiled form -----------------------------------------------------------


class _Matcher:
    __slots__ = ()

    def matches(self, value: object) -> bool:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class _Exists(_Matcher):
    def matches(self, value: object) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class _Absent(_Matcher):
    """``"exists": false``; the leaf consults it only when it has no values."""

    def matches(self, value: object) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class _Prefix(_Matcher):
    text: str
    ignore_case: bool = False

    def matches(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        return (value.casefold() if self.ignore_case else value).startswith(self.text)


@dataclass(frozen=True, slots=True)
class _Suffix(_Matcher):
    text: str
    ignore_case: bool = False

    def matches(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        return (value.casefold() if self.ignore_case else value).endswith(self.text)


@dataclass(frozen=True, slots=True)
class _EqualsIgnoreCase(_Matcher):
    folded: str

    def matches(self, value: object) -> bool:
        return isinstance(value, str) and value.casefold() == self.folded


@dataclass(frozen=True, slots=True)
class _Wildcard(_Matcher):
    parts: tuple[str, ...]  # literal runs between stars; one part means no star

    def matches(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        parts = self.parts
        if len(parts) == 1:
            return value == parts[0]
        first, last = parts[0], parts[-1]
        end = len(value) - len(last)
        if end < len(first) or not value.startswith(first) or not value.endswith(last):
            return False
        # Leftmost placement of each middle run is optimal for star-only globs,
        # so one forward scan decides: linear time, no regex backtracking.
        position = len(first)
        for middle in parts[1:-1]:
            found = value.find(middle, position, end)
            if found < 0:
                return False
            position = found + len(middle)
        return True


@dataclass(frozen=True, slots=True)
class _Numeric(_Matcher):
    lower: int | float | None
    lower_inclusive: bool
    upper: int | float | None
    upper_inclusive: bool

    def matches(self, value: object) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        lower, upper = self.lower, self.upper
        if lower is not None and not (value >= lower if self.lower_inclusive else value > lower):
            return False
        return upper is None or (value <= upper if self.upper_inclusive else value < upper)


@dataclass(frozen=True, slots=True)
class _AnythingBut(_Matcher):
    excluded: frozenset[_Key]
    unless: tuple[_Matcher, ...] = ()

    def matches(self, value: object) -> bool:
        if _key(value) in self.excluded:
            return False
        return not any(m.matches(value) for m in self.unless)


@dataclass(frozen=True, slots=True)
class _Leaf:
    exact: frozenset[_Key]
    matchers: tuple[_Matcher, ...]
    if_absent: bool  # the leaf holds {"exists": false}

    def matches(self, values: tuple[object, ...]) -> bool:
        if not values:
            return self.if_absent
        for value in values:
            if _key(value) in self.exact:
                return True
            for matcher in self.matchers:
                if matcher.matches(value):
                    return True
        return False


@dataclass(frozen=True, slots=True)
class _Node:
    fields: tuple[tuple[str, _Leaf | _Node], ...]

    def matches(self, context: Mapping[str, object]) -> bool:
        for name, rule in self.fields:
            value = context.get(name, _MISSING)
            if isinstance(rule, _Leaf):
                if not rule.matches(_leaf_values(value)):
                    return False
            elif not _matches_nested(rule, value):
                return False
        return True


def _leaf_values(value: object) -> tuple[object, ...]:
    if value is _MISSING or isinstance(value, Mapping):
        return ()
    if isinstance(value, list | tuple):
        return tuple(_flatten(value, scalars=True))
    return (value,)


def _flatten(items: list[object] | tuple[object, ...], *, scalars: bool) -> list[object]:
    """Scalars (or objects) of a possibly nested array, in order."""
    out: list[object] = []
    for item in items:
        if isinstance(item, list | tuple):
            out.extend(_flatten(item, scalars=scalars))
        elif isinstance(item, Mapping) != scalars:
            out.append(item)
    return out


def _matches_nested(node: _Node, value: object) -> bool:
    if isinstance(value, Mapping):
        return node.matches(value)
    if isinstance(value, list | tuple):
        # One element must satisfy the whole sub-pattern, so keys matched in
        # different elements never combine into a false positive.
        objects = _flatten(value, scalars=False)
        if objects:
            return any(node.matches(o) for o in objects if isinstance(o, Mapping))
    # Absent, scalar, or no objects: every nested key is absent.
    return node.matches(_EMPTY)


@dataclass(frozen=True, slots=True)
class Pattern:
    """A compiled pattern; immutable, hashable, equal when structurally equal."""

    root: _Node
    source: str = field(default="", compare=False, repr=False)

    def matches(self, context: Mapping[str, object]) -> bool:
        return self.root.matches(context)


# --- compilation ---------------------------------------------------------------


class _Invalid(Exception):
    def __init__(self, problem: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(problem)
        self.problem = problem
        self.path = path


def compile_pattern(text: str, *, field: str = "pattern", max_length: int | None = None) -> Pattern:
    """Parse and validate ``text``; raise Invalid naming ``field``."""
    if max_length is not None and len(text) > max_length:
        raise Invalid(
            f"{field} must be at most {max_length} characters, got {len(text)}", field=field
        )
    try:
        document = json.loads(
            text, object_pairs_hook=_object_without_duplicates, parse_constant=_no_constant
        )
        if not isinstance(document, dict):
            raise _Invalid(f"must be a JSON object, got {_type_name(document)}")
        root = _compile_node(document, ())
    except _Invalid as err:
        where = f" at {_render(err.path)}" if err.path else ""
        raise Invalid(f"{field} is invalid{where}: {err.problem}", field=field) from None
    except json.JSONDecodeError as err:
        raise Invalid(
            f"{field} is not valid JSON: {err.msg} (line {err.lineno}, column {err.colno})",
            field=field,
        ) from None
    except ValueError as err:  # e.g. an integer literal past int_max_str_digits
        raise Invalid(f"{field} is not valid JSON: {err}", field=field) from None
    except RecursionError:
        raise Invalid(f"{field} is nested too deeply", field=field) from None
    return Pattern(root, text)


def _object_without_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name, value in pairs:
        if name in out:
            # json.loads would silently keep the last one; the author meant both.
            raise _Invalid(f"duplicate key {name!r}")
        out[name] = value
    return out


def _no_constant(name: str) -> object:
    raise _Invalid(f"{name} is not a JSON value")


def _render(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _compile_node(document: dict[str, object], path: tuple[str | int, ...]) -> _Node:
    if not document:
        raise _Invalid("an object must have at least one key", path)
    fields: list[tuple[str, _Leaf | _Node]] = []
    for name, value in document.items():
        here = (*path, name)
        if isinstance(value, dict):
            fields.append((name, _compile_node(value, here)))
        elif isinstance(value, list):
            fields.append((name, _compile_leaf(value, here)))
        else:
            raise _Invalid(
                f"must be an array of matchers or an object, got {_type_name(value)}", here
            )
    return _Node(tuple(fields))


def _compile_leaf(items: list[object], path: tuple[str | int, ...]) -> _Leaf:
    if not items:
        raise _Invalid("an array of matchers must not be empty", path)
    exact: set[_Key] = set()
    matchers: list[_Matcher] = []
    if_absent = False
    for index, item in enumerate(items):
        here = (*path, index)
        if isinstance(item, dict):
            matcher = _compile_matcher(item, here)
            if isinstance(matcher, _Absent):
                if_absent = True
            elif matcher not in matchers:
                matchers.append(matcher)
        elif isinstance(item, list):
            raise _Invalid("a matcher must be a value or an object, got array", here)
        else:
            exact.add(_scalar(item, here))
    return _Leaf(frozenset(exact), tuple(matchers), if_absent)


def _scalar(value: object, path: tuple[str | int, ...]) -> _Key:
    if isinstance(value, float) and not math.isfinite(value):
        raise _Invalid("numbers must be finite", path)
    key = _key(value)
    if key is None:  # pragma: no cover - json.loads yields no other scalars
        raise _Invalid(f"unsupported value {value!r}", path)
    return key


def _compile_matcher(item: dict[str, object], path: tuple[str | int, ...]) -> _Matcher:
    if len(item) != 1:
        raise _Invalid(f"a matcher object must have exactly one key, got {len(item)}", path)
    ((keyword, operand),) = item.items()
    compiler = _MATCHERS.get(keyword)
    if compiler is None:
        raise _Invalid(f"unknown matcher {keyword!r}; expected one of {', '.join(_MATCHERS)}", path)
    return compiler(operand, (*path, keyword))


def _string(operand: object, path: tuple[str | int, ...], keyword: str) -> str:
    if not isinstance(operand, str):
        raise _Invalid(f"{keyword} takes a string, got {_type_name(operand)}", path)
    return operand


def _prefix_or_suffix(keyword: str) -> Callable[[object, tuple[str | int, ...]], _Matcher]:
    kind = _Prefix if keyword == "prefix" else _Suffix

    def compile_(operand: object, path: tuple[str | int, ...]) -> _Matcher:
        if isinstance(operand, dict) and list(operand) == ["equals-ignore-case"]:
            text = _string(operand["equals-ignore-case"], path, "equals-ignore-case")
            return kind(text.casefold(), ignore_case=True)
        if not isinstance(operand, str):
            raise _Invalid(
                f'{keyword} takes a string or {{"equals-ignore-case": string}}, '
                f"got {_type_name(operand)}",
                path,
            )
        return kind(operand)

    return compile_


def _equals_ignore_case(operand: object, path: tuple[str | int, ...]) -> _Matcher:
    return _EqualsIgnoreCase(_string(operand, path, "equals-ignore-case").casefold())


def _wildcard(operand: object, path: tuple[str | int, ...]) -> _Matcher:
    text = _string(operand, path, "wildcard")
    parts: list[str] = []
    run: list[str] = []
    chars = iter(text)
    previous_star = False
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")
            if escaped not in ("*", "\\"):
                raise _Invalid("wildcard escapes only \\* and \\\\", path)
            run.append(escaped)
            previous_star = False
        elif char == "*":
            # EventBridge rejects "**": it means the same as "*" and hints at a typo.
            if previous_star:
                raise _Invalid("wildcard must not contain consecutive *", path)
            parts.append("".join(run))
            run = []
            previous_star = True
        else:
            run.append(char)
            previous_star = False
    parts.append("".join(run))
    return _Wildcard(tuple(parts))


_OPERATORS = ("=", "<", "<=", ">", ">=")


def _number(operand: object, path: tuple[str | int, ...]) -> int | float:
    if not isinstance(operand, int | float) or isinstance(operand, bool):
        raise _Invalid(f"numeric bounds must be numbers, got {_type_name(operand)}", path)
    if isinstance(operand, float) and not math.isfinite(operand):
        raise _Invalid("numeric bounds must be finite", path)
    return operand


def _numeric(operand: object, path: tuple[str | int, ...]) -> _Matcher:
    shape = 'numeric takes [operator, number] or [">" or ">=", number, "<" or "<=", number]'
    if not isinstance(operand, list) or len(operand) not in (2, 4):
        raise _Invalid(shape, path)
    comparisons: list[tuple[str, int | float]] = []
    for i in range(0, len(operand), 2):
        operator = operand[i]
        if not isinstance(operator, str) or operator not in _OPERATORS:
            raise _Invalid(
                f"numeric operator must be one of {', '.join(_OPERATORS)}, got {operator!r}",
                (*path, i),
            )
        comparisons.append((operator, _number(operand[i + 1], (*path, i + 1))))
    if len(comparisons) == 1:
        ((operator, bound),) = comparisons
        if operator == "=":
            return _Numeric(bound, True, bound, True)
        if operator in (">", ">="):
            return _Numeric(bound, operator == ">=", None, False)
        return _Numeric(None, False, bound, operator == "<=")
    (low_op, low), (high_op, high) = comparisons
    if low_op not in (">", ">=") or high_op not in ("<", "<="):
        raise _Invalid(shape, path)
    if not low < high:
        raise _Invalid(f"numeric lower bound {low} must be below upper bound {high}", path)
    return _Numeric(low, low_op == ">=", high, high_op == "<=")


def _exists(operand: object, path: tuple[str | int, ...]) -> _Matcher:
    if not isinstance(operand, bool):
        raise _Invalid(f"exists takes true or false, got {_type_name(operand)}", path)
    return _Exists() if operand else _Absent()


_ANYTHING_BUT_SHAPE = (
    "anything-but takes a string, a number, a non-empty array of strings or of numbers, "
    "or an object with one of prefix, suffix, equals-ignore-case, wildcard"
)


def _anything_but(operand: object, path: tuple[str | int, ...]) -> _Matcher:
    if isinstance(operand, str) or _is_number(operand):
        return _AnythingBut(frozenset({_scalar(operand, path)}))
    if isinstance(operand, list):
        # EventBridge allows only homogeneous lists: all strings or all numbers.
        if operand and (
            all(isinstance(v, str) for v in operand) or all(_is_number(v) for v in operand)
        ):
            return _AnythingBut(frozenset(_scalar(v, (*path, i)) for i, v in enumerate(operand)))
        raise _Invalid(_ANYTHING_BUT_SHAPE, path)
    if isinstance(operand, dict) and len(operand) == 1:
        ((keyword, inner),) = operand.items()
        here = (*path, keyword)
        if keyword in ("prefix", "suffix"):
            kind = _Prefix if keyword == "prefix" else _Suffix
            return _AnythingBut(frozenset(), (kind(_string(inner, here, keyword)),))
        if keyword in ("equals-ignore-case", "wildcard"):
            compile_ = _equals_ignore_case if keyword == "equals-ignore-case" else _wildcard
            if not isinstance(inner, list):
                return _AnythingBut(frozenset(), (compile_(inner, here),))
            if inner:
                return _AnythingBut(
                    frozenset(), tuple(compile_(t, (*here, i)) for i, t in enumerate(inner))
                )
    raise _Invalid(_ANYTHING_BUT_SHAPE, path)


_MATCHERS: dict[str, Callable[[object, tuple[str | int, ...]], _Matcher]] = {
    "prefix": _prefix_or_suffix("prefix"),
    "suffix": _prefix_or_suffix("suffix"),
    "equals-ignore-case": _equals_ignore_case,
    "wildcard": _wildcard,
    "numeric": _numeric,
    "exists": _exists,
    "anything-but": _anything_but,
}
