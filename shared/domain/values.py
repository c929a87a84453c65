"""Value types shared by features, launches and experiments."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ValueType(enum.Enum):
    STRING = "STRING"
    LONG = "LONG"
    DOUBLE = "DOUBLE"
    BOOLEAN = "BOOLEAN"


@dataclass(frozen=True, slots=True)
class VariableValue:
    type: ValueType
    value: bool | int | float | str


@dataclass(frozen=True, slots=True)
class Variation:
    name: str
    value: VariableValue
