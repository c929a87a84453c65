"""Pagination tokens verify, and belong to one list."""

from __future__ import annotations

import pytest

from shared.edge.tokens import TokenCodec
from shared.errors import ValidationException

codec = TokenCodec(b"k" * 32)
FILTERS: dict[str, object] = {"project": "p"}


def test_a_token_opens_to_its_key() -> None:
    token = codec.issue("ListFeatures", FILTERS, "feature-7")
    assert codec.open(token, "ListFeatures", dict(FILTERS)) == "feature-7"
    assert "feature-7" not in token


@pytest.mark.parametrize("token", ["", "AAAA", "not base64 !", "x" * 40])
def test_forged_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValidationException, match="nextToken"):
        codec.open(token, "ListFeatures", FILTERS)


def test_a_tampered_token_is_refused() -> None:
    token = codec.issue("ListFeatures", FILTERS, "a")
    flipped = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    with pytest.raises(ValidationException, match="issued"):
        codec.open(flipped, "ListFeatures", FILTERS)


def test_another_key_does_not_verify() -> None:
    token = TokenCodec(b"other" * 8).issue("ListFeatures", FILTERS, "a")
    with pytest.raises(ValidationException, match="issued"):
        codec.open(token, "ListFeatures", FILTERS)


def test_a_token_of_another_list_is_refused() -> None:
    token = codec.issue("ListFeatures", FILTERS, "a")
    with pytest.raises(ValidationException, match="another list"):
        codec.open(token, "ListExperiments", FILTERS)
    with pytest.raises(ValidationException, match="another list"):
        codec.open(token, "ListFeatures", {"project": "q"})
