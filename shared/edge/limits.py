"""How large a request body each operation may send, from the botocore model.

A body can be refused by its size alone only if no valid request is that large. Where
the model bounds every member of an operation's body (string lengths, list and map
sizes, enums), the largest valid body follows from it: each character counted as 12
bytes (a character outside the Basic Multilingual Plane, escaped by an ASCII-only JSON
encoder such as Python's, is ``\\uXXXX\\uXXXX``), each number as 32 (a double's longest
``repr``), each member's name with its quotes, colon and comma, and the whitespace of
an encoding indented by up to four spaces a level. Bodies in practice are a small
fraction of that bound, so it refuses no real client; it refuses the megabytes a valid
request of these operations never needs.

Where the model leaves a member unbounded (a ``JsonValue`` such as PutProjectEvents'
``data`` or EvaluateFeature's ``evaluationContext``, a map of tags), the operation
gets ``MAX_BODY_BYTES``, the limit every operation had before. Nothing gets less than
``MIN_BODY_BYTES``: an operation whose input lives in its path still receives "{}"
from some clients, and room for indentation costs nothing.
"""

from __future__ import annotations

import math

from shared.edge.model import ServiceModel

# Requests larger than this are refused before they are read whole.
MAX_BODY_BYTES = 2 * 1024 * 1024
MIN_BODY_BYTES = 16 * 1024

_CHARACTER = 12  # "\ud83d\ude00": one character, escaped as a surrogate pair
_NUMBER = 32
_NAME = 4  # the quotes around a member's name, its colon and the comma after it


def _layout(depth: int) -> int:
    """Whitespace before an item or member at ``depth``: a newline, up to four spaces a
    level of indentation, and the space after a colon or comma."""
    return 2 + 4 * depth


def body_bound(model: ServiceModel, operation: str) -> float:
    """Bytes of the largest body the model allows ``operation``: ``math.inf`` if unbounded."""
    shape_name = model.operations[operation].input
    if shape_name is None:
        return 2.0
    shape = model.shape(shape_name)
    # Labels, query members and headers travel outside the body.
    body = [(name, m.shape) for name, m in shape.members.items() if m.location is None]
    return (
        2.0
        + _layout(0)
        + sum(
            len(name) + _NAME + _layout(1) + _size(model, s, (shape_name,), 1) for name, s in body
        )
    )


def body_limit(model: ServiceModel, operation: str) -> int:
    """The largest body the edge reads for ``operation``."""
    bound = body_bound(model, operation)
    if math.isinf(bound):
        return MAX_BODY_BYTES
    return min(MAX_BODY_BYTES, max(MIN_BODY_BYTES, math.ceil(bound)))


def _size(model: ServiceModel, name: str, seen: tuple[str, ...], depth: int) -> float:
    if name in seen:  # a recursive shape has no bound
        return math.inf
    shape = model.shape(name)
    inner = (*seen, name)
    kind = shape.type
    # Opening and closing brackets, the closing one on a line of its own.
    brackets = 2.0 + _layout(depth)
    if kind == "structure":
        return brackets + sum(
            len(member) + _NAME + _layout(depth + 1) + _size(model, m.shape, inner, depth + 1)
            for member, m in shape.members.items()
        )
    if kind == "list":
        if shape.max is None or shape.member is None:
            return math.inf
        item = 1 + _layout(depth + 1) + _size(model, shape.member, inner, depth + 1)
        return brackets + shape.max * item
    if kind == "map":
        if shape.max is None or shape.key is None or shape.value is None:
            return math.inf
        key = _size(model, shape.key, inner, depth + 1)
        value = _size(model, shape.value, inner, depth + 1)
        return brackets + shape.max * (_NAME + _layout(depth + 1) + key + value)
    if kind == "string":
        if shape.enum:
            return 2.0 + max(len(value) for value in shape.enum)
        if shape.max is None:
            return math.inf
        return 2.0 + _CHARACTER * shape.max
    if kind == "boolean":
        return 5.0
    return float(_NUMBER)  # integer, long, double, float, timestamp (epoch seconds)
