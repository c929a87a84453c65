"""The limits an event must keep: at the boundary, past it, and at any nesting depth."""

from __future__ import annotations

import math

import pytest

from shared.domain.limits import (
    MAX_ABS_VALUE,
    MAX_DATA_DEPTH,
    MAX_ENTITY_ID_LENGTH,
    deeper_than,
    entity_id_breach,
    first_breach,
    observation_breach,
    value_breach,
)
from shared.domain.observations import Observation


def nested(levels: int) -> object:
    """``levels`` objects and arrays inside each other, built without recursion."""
    value: object = 1
    for level in range(levels):
        value = {"a": value} if level % 2 else [value]
    return value


@pytest.mark.parametrize("value", [0.0, 1e150, -1e150, 12.5, -3])
def test_values_up_to_the_limit_count(value: float) -> None:
    assert value_breach(value) is None


@pytest.mark.parametrize("value", [1.01e150, -1e151, 1e300, math.nan])
def test_values_past_the_limit_are_refused_naming_it(value: float) -> None:
    problem = value_breach(value)
    assert problem is not None and "1e+150" in problem


def test_the_limit_keeps_a_square_finite() -> None:
    assert math.isfinite(MAX_ABS_VALUE**2)


def test_entity_ids_up_to_512_characters_count() -> None:
    assert MAX_ENTITY_ID_LENGTH == 512
    assert entity_id_breach("u" * 512) is None
    problem = entity_id_breach("u" * 513)
    assert problem is not None and "513" in problem and "512" in problem


def test_an_observation_breach_names_its_metric_and_the_first_limit() -> None:
    fine = Observation("x", "revenue", "user-1", 10.0)
    big = Observation("x", "revenue", "user-1", 1e200)
    long_id = Observation("x", "clicks", "u" * 600, 1e200)
    assert observation_breach(fine) is None
    assert observation_breach(big) == f"metric revenue: {value_breach(1e200)}"
    assert observation_breach(long_id) == f"metric clicks: {entity_id_breach('u' * 600)}"
    assert first_breach([fine, big, long_id]) == observation_breach(big)
    assert first_breach([fine]) is None


@pytest.mark.parametrize(
    ("value", "depth"),
    [(1, 0), ({}, 1), ([], 1), ({"a": [1, {"b": 2}]}, 3), (nested(64), 64)],
)
def test_depth_counts_objects_and_arrays(value: object, depth: int) -> None:
    assert not deeper_than(value, depth)
    assert deeper_than(value, depth - 1) == (depth > 0)


def test_depth_is_checked_far_past_the_recursion_limit() -> None:
    assert MAX_DATA_DEPTH == 64
    assert deeper_than(nested(100_000), MAX_DATA_DEPTH)
    assert not deeper_than({"wide": [[i] for i in range(10_000)]}, 3)
