"""json_object: a field's JSON text to an object, or a ValidationException naming it."""

from __future__ import annotations

import pytest

from shared.errors import ValidationException
from shared.wire.common import json_object


def text(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def test_an_object_within_the_depth_is_returned() -> None:
    assert json_object(text(3), "data", max_depth=3) == {"a": {"a": {"a": 1}}}


@pytest.mark.parametrize("levels", [4, 260, 1025, 5000])
def test_deeper_than_the_limit_names_the_limit(levels: int) -> None:
    """260 levels is past orjson's 254 for writing; 1025, past its 1024 for reading:
    both are the same refusal, in our words."""
    with pytest.raises(ValidationException, match="more than 3 levels deep") as refused:
        json_object(text(levels), "data", max_depth=3)
    assert refused.value.message.startswith("data ")


def test_without_a_limit_only_orjsons_applies() -> None:
    assert json_object(text(300), "data")["a"]
    with pytest.raises(ValidationException, match="not valid JSON"):
        json_object(text(1025), "data")


@pytest.mark.parametrize(("raw", "why"), [("[1]", "must be a JSON object"), ("{", "not valid")])
def test_not_an_object(raw: str, why: str) -> None:
    with pytest.raises(ValidationException, match=why):
        json_object(raw, "data", max_depth=64)
