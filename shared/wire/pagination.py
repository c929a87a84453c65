"""nextToken/maxResults pagination over name-sorted listings.

The token is the last name returned, so inserts and deletes between pages
neither repeat nor skip a survivor.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from typing import TypeVar

from shared.errors import ValidationException

T = TypeVar("T")


def encode_token(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode()).decode()


def decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationException(
            "nextToken is not one this service issued", field="nextToken"
        ) from None


def page(
    items: Iterable[T],
    key: Callable[[T], str],
    *,
    max_results: str | None,
    next_token: str | None,
    limit: int,
    default: int | None = None,
) -> tuple[list[T], str | None]:
    size = default or limit
    if max_results is not None:
        try:
            size = int(max_results)
        except ValueError:
            raise ValidationException("maxResults must be an integer", field="maxResults") from None
        if not 1 <= size <= limit:
            raise ValidationException(
                f"maxResults must be between 1 and {limit}", field="maxResults"
            )
    ordered = sorted(items, key=key)
    if next_token:
        after = decode_token(next_token)
        ordered = [item for item in ordered if key(item) > after]
    chosen = ordered[:size]
    token = encode_token(key(chosen[-1])) if len(ordered) > size else None
    return chosen, token
