"""Pagination tokens: opaque, signed, and bound to the list they came from.

A token carries the last key returned, the operation and a digest of the filters
(project, status, type, ...), under an HMAC. A token that does not verify, was
issued for another operation, or for the same operation with other filters,
gets a ValidationException instead of a silently wrong page.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

import orjson

from shared.errors import ValidationException

VERSION = 1
_MAC_BYTES = 16


class TokenCodec:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:_MAC_BYTES]

    @staticmethod
    def _scope(operation: str, filters: dict[str, object]) -> str:
        canonical = orjson.dumps(filters, option=orjson.OPT_SORT_KEYS)
        return f"{operation}:{hashlib.sha256(canonical).hexdigest()[:16]}"

    def issue(self, operation: str, filters: dict[str, object], last: str) -> str:
        payload = orjson.dumps({"v": VERSION, "s": self._scope(operation, filters), "k": last})
        return base64.urlsafe_b64encode(payload + self._mac(payload)).decode().rstrip("=")

    def open(self, token: str, operation: str, filters: dict[str, object]) -> str:
        """The last key the token's page ended at."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise _invalid() from None
        payload, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        if len(raw) <= _MAC_BYTES or not hmac.compare_digest(mac, self._mac(payload)):
            raise _invalid()
        content = orjson.loads(payload)
        if content.get("v") != VERSION:
            raise _invalid()
        if content.get("s") != self._scope(operation, filters):
            raise ValidationException(
                f"nextToken was issued for another list; {operation} takes only its own"
                " tokens, with the same filters",
                field="nextToken",
            )
        last = content.get("k")
        if not isinstance(last, str):
            raise _invalid()
        return last


def _invalid() -> ValidationException:
    return ValidationException("nextToken is not one this service issued", field="nextToken")
