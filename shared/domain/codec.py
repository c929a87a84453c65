"""Dataclass <-> JSON-native values, driven by type hints.

Events are frozen dataclasses; the store keeps them as JSON. One generic codec
keeps every event's encoding symmetric without a hand-written pair per event.
"""

from __future__ import annotations

import dataclasses
import enum
import types
import typing
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

T = TypeVar("T")


def encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, tuple | list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    return value


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def decode(tp: Any, data: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if data is None:
            return None
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        return decode(options[0], data)
    if origin is tuple:
        (item, _ellipsis) = typing.get_args(tp)
        return tuple(decode(item, v) for v in data)
    if origin is list:
        return [decode(typing.get_args(tp)[0], v) for v in data]
    if origin is dict or (origin is not None and origin.__name__ == "Mapping"):
        _key, val = typing.get_args(tp)
        return {k: decode(val, v) for k, v in data.items()}
    if tp is Any:
        return data
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        return tp(**{k: decode(hints[k], v) for k, v in data.items() if k in hints})
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(data)
    if tp is datetime:
        return datetime.fromisoformat(data)
    if tp is float and isinstance(data, int):
        return float(data)
    return data


def from_json(cls: type[T], data: dict[str, Any]) -> T:
    result: T = decode(cls, data)
    return result
