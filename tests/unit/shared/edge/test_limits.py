"""Per-operation body limits from the model, and the edge's reading of a body against them."""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import pytest

from shared.edge.app import _read_body
from shared.edge.limits import MAX_BODY_BYTES, MIN_BODY_BYTES, body_bound, body_limit
from shared.edge.model import ServiceModel, load
from shared.edge.routing import TABLE
from shared.errors import ValidationException

MODEL = load()
BOUNDED = [op for op in MODEL.operations if not math.isinf(body_bound(MODEL, op))]


def largest(model: ServiceModel, name: str, salt: int = 0) -> Any:
    """A document as large as the model lets ``name`` be, in the costliest characters."""
    shape = model.shape(name)
    if shape.type == "structure":
        return {m: largest(model, member.shape) for m, member in shape.members.items()}
    if shape.type == "list":
        assert shape.member is not None and shape.max is not None
        return [largest(model, shape.member) for _ in range(int(shape.max))]
    if shape.type == "map":
        assert shape.key and shape.value and shape.max is not None
        return {
            largest(model, shape.key, salt=i): largest(model, shape.value)
            for i in range(int(shape.max))
        }
    if shape.type == "string":
        if shape.enum:
            return max(shape.enum, key=len)
        assert shape.max is not None
        # Outside the BMP: 12 bytes each as Python's json escapes it.
        return chr(0x1F600 + salt % 64) * int(shape.max)
    if shape.type == "boolean":
        return False
    return -2.2250738585072014e-308  # the longest repr of a double


@pytest.mark.parametrize("operation", BOUNDED)
def test_the_largest_valid_body_is_within_the_bound(operation: str) -> None:
    """No valid request is refused: the largest body the model allows, escaped to ASCII
    and indented, fits under the operation's bound."""
    members = MODEL.input_members(operation)
    document = {name: largest(MODEL, m.shape) for name, m in members.items() if m.location is None}
    limit = body_limit(MODEL, operation)
    for indent in (None, 2, 4):
        encoded = json.dumps(document, indent=indent)
        assert len(encoded) <= body_bound(MODEL, operation), indent
        assert len(encoded) <= limit or limit == MAX_BODY_BYTES, indent


def test_limits_follow_what_the_model_states() -> None:
    # Its input is all in the path: the floor.
    assert body_limit(MODEL, "GetProject") == MIN_BODY_BYTES
    # Bounded by the model above the floor and below the cap.
    assert MIN_BODY_BYTES < body_limit(MODEL, "UpdateLaunch") < MAX_BODY_BYTES
    # The model bounds neither an event's data nor an evaluation context: the cap.
    assert body_limit(MODEL, "PutProjectEvents") == MAX_BODY_BYTES
    assert body_limit(MODEL, "EvaluateFeature") == MAX_BODY_BYTES
    # Bounded, but above the cap: the cap.
    assert body_bound(MODEL, "UpdateFeature") > MAX_BODY_BYTES
    assert body_limit(MODEL, "UpdateFeature") == MAX_BODY_BYTES


def test_every_route_carries_its_operations_limit() -> None:
    for route in TABLE.routes:
        if route.operation in MODEL.operations:
            assert route.max_body == body_limit(MODEL, route.operation), route.operation
        else:  # health, metrics, OpenAPI: nothing to read
            assert route.max_body == MIN_BODY_BYTES, route.operation


class Receiver:
    """An ASGI receive that counts what the edge asked for."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.calls > len(self.chunks):
            return {"type": "http.disconnect"}
        return {
            "type": "http.request",
            "body": self.chunks[self.calls - 1],
            "more_body": self.calls < len(self.chunks),
        }


def read(receive: Receiver, headers: list[tuple[bytes, bytes]], limit: int) -> bytes | None:
    return asyncio.run(_read_body(receive, headers, limit))


@pytest.mark.parametrize("declared", [b"1025", b" 62914560", b"9" * 5000])
def test_a_declared_length_over_the_limit_is_refused_before_reading(declared: bytes) -> None:
    receive = Receiver([b"x" * 10])
    with pytest.raises(ValidationException, match="Request entity too large") as refused:
        read(receive, [(b"host", b"h"), (b"content-length", declared)], 1024)
    assert receive.calls == 0
    assert refused.value.fields["fieldList"][0]["name"] == "body"


def test_a_streamed_body_is_refused_once_past_the_limit() -> None:
    receive = Receiver([b"x" * 400] * 100)  # chunked: no Content-Length
    with pytest.raises(ValidationException, match="exceeds 1024 bytes"):
        read(receive, [], 1024)
    assert receive.calls == 3  # 1200 bytes read of 40000


def test_a_body_within_the_limit_is_read_whole() -> None:
    assert read(Receiver([b"a" * 512, b"b" * 512]), [(b"content-length", b"1024")], 1024) == (
        b"a" * 512 + b"b" * 512
    )
    assert read(Receiver([b"{}"]), [], 1024) == b"{}"


def test_a_client_gone_while_sending_is_no_body() -> None:
    assert read(Receiver([]), [], 1024) is None
