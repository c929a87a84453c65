"""Validators compiled from the model: each constraint kind, no coercion, AWS's wording."""

from __future__ import annotations

from typing import Any

import pytest

from shared.edge.model import load
from shared.edge.validation import Problems, compiler, failure, python_pattern


def problems(shape: str, value: Any) -> Problems:
    found: Problems = []
    compiler(load()).check(shape)(value, "", found)
    return found


def where(shape: str, value: Any) -> list[str]:
    return [p for p, _ in problems(shape, value)]


VALID_FEATURE: dict[str, Any] = {
    "project": "p",
    "name": "f",
    "variations": [{"name": "a", "value": {"stringValue": "a"}}],
    "tags": {"team": "x"},
}


def test_a_valid_input_has_no_problems() -> None:
    assert problems("CreateFeatureRequest", VALID_FEATURE) == []


@pytest.mark.parametrize(
    ("change", "path", "wording"),
    [
        ({"name": None}, "name", "must not be null"),
        ({"name": "a b"}, "name", "regular expression pattern"),
        ({"name": "x" * 128}, "name", "length less than or equal to 127"),
        ({"name": 5}, "name", "must be a string (got integer)"),
        ({"description": "d" * 161}, "description", "less than or equal to 160"),
        ({"variations": []}, "variations", "greater than or equal to 1"),
        ({"variations": "a"}, "variations", "must be a list"),
        (
            {"variations": [{"name": "a", "value": {"stringValue": "a", "longValue": 1}}]},
            "variations.1.member.value",
            "exactly one of",
        ),
        (
            {"variations": [{"name": "a", "value": {}}]},
            "variations.1.member.value",
            "exactly one of",
        ),
        (
            {"variations": [{"name": "a", "value": {"longValue": "5"}}]},
            "variations.1.member.value.longValue",
            "must be a long (got string)",
        ),
        (
            {"variations": [{"name": "a", "value": {"boolValue": "true"}}]},
            "variations.1.member.value.boolValue",
            "must be a boolean",
        ),
        ({"evaluationStrategy": "SOMETIMES"}, "evaluationStrategy", "enum value set"),
        ({"tags": {"aws:x": "v"}}, "tags.key", "regular expression pattern"),
        ({"tags": {"k": 1}}, "tags.k", "must be a string"),
        ({"entityOverrides": {"": "a"}}, "entityOverrides.key", "greater than or equal to 1"),
    ],
)
def test_each_constraint(change: dict[str, Any], path: str, wording: str) -> None:
    found = problems("CreateFeatureRequest", {**VALID_FEATURE, **change})
    assert any(p == path and wording in what for p, what in found), found


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (50000, True),
        ("50000", False),
        (50000.0, False),
        (True, False),
        (-1, False),
        (100001, False),
    ],
)
def test_integers_are_not_coerced(value: Any, ok: bool) -> None:
    assert (where("CreateExperimentRequest", _experiment(samplingRate=value)) == []) is ok


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        (1_700_000_000, True),
        (1_700_000_000.5, True),
        ("2024-01-01T00:00:00Z", False),
        (True, False),
    ],
)
def test_timestamps_are_epoch_numbers(value: Any, ok: bool) -> None:
    event = {"type": "aws.evidently.custom", "timestamp": value, "data": "{}"}
    assert (where("PutProjectEventsRequest", {"project": "p", "events": [event]}) == []) is ok


def test_a_json_value_member_is_a_string() -> None:
    event = {"type": "aws.evidently.custom", "timestamp": 1, "data": {"a": 1}}
    assert where("PutProjectEventsRequest", {"project": "p", "events": [event]}) == [
        "events.1.member.data"
    ]


def test_every_problem_is_reported() -> None:
    event = {"type": "nope", "data": 3}
    found = where("PutProjectEventsRequest", {"project": "p", "events": [event]})
    assert sorted(found) == [
        "events.1.member.data",
        "events.1.member.timestamp",
        "events.1.member.type",
    ]
    error = failure(problems("PutProjectEventsRequest", {"project": "p", "events": [event]}))
    assert error.message.startswith("3 validation errors detected: Value at 'events.1.member")
    assert [f["name"] for f in error.body()["fieldList"]] == found


def test_dollar_means_the_very_end() -> None:
    assert python_pattern(r"^[-a-zA-Z0-9._]*$") == r"^[-a-zA-Z0-9._]*\Z"
    assert python_pattern(r"[$]\$x$") == r"[$]\$x\Z"
    assert where("CreateFeatureRequest", {**VALID_FEATURE, "name": "f\n"}) == ["name"]


def test_unanchored_model_patterns_search() -> None:
    # AppConfigResourceId is "[a-z0-9]{4,7}" without anchors: Smithy patterns search.
    ok = {"applicationId": "abcd123", "environmentId": "efgh456"}
    assert where("ProjectAppConfigResourceConfig", ok) == []
    assert where("ProjectAppConfigResourceConfig", {**ok, "applicationId": "AB"}) == [
        "applicationId"
    ]


def _experiment(**extra: Any) -> dict[str, Any]:
    return {
        "project": "p",
        "name": "e",
        "treatments": [{"name": "t", "feature": "f", "variation": "v"}],
        "metricGoals": [
            {
                "metricDefinition": {
                    "name": "m",
                    "entityIdKey": "userDetails.userId",
                    "valueKey": "details.m",
                }
            }
        ],
        **extra,
    }
