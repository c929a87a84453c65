"""What every control-plane endpoint shares: the application, If-Match, ETag, pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from services.command.application import Context, ControlPlane
from shared.edge.app import Call, Reply
from shared.edge.tokens import TokenCodec
from shared.errors import ValidationException

T = TypeVar("T")

# Members that page a listing rather than filter it: a token stays valid across them.
_PAGING = frozenset({"maxResults", "nextToken"})


def application(call: Call) -> ControlPlane:
    found: ControlPlane = call.state.application
    return found


def context(call: Call) -> Context:
    """The caller's expected version (HTTP's If-Match, a resourceVersion ETag) and request id."""
    raw = call.header("if-match")
    expected = None
    if raw is not None:
        try:
            expected = int(raw.strip().removeprefix("W/").strip('"'))
        except ValueError:
            raise ValidationException(
                'If-Match must be a resourceVersion ETag such as "3"', field="If-Match"
            ) from None
    return Context(expected, call.request_id)


def versioned(key: str, body: dict[str, Any]) -> Reply:
    return Reply({key: body}, headers=(("ETag", f'"{body["resourceVersion"]}"'),))


def listing(
    call: Call,
    key: str,
    items: Iterable[T],
    name: Callable[[T], str],
    render: Callable[[T], dict[str, Any]],
    *,
    default: int,
) -> dict[str, Any]:
    """One page of a name-sorted listing; ``default`` is the page size Evidently documents.

    The token is the last name returned, so inserts and deletes between pages neither
    repeat nor skip a survivor."""
    codec: TokenCodec = call.state.tokens
    filters = {k: v for k, v in call.input.items() if k not in _PAGING}
    size = call.input.get("maxResults") or default
    ordered = sorted(items, key=name)
    token = call.input.get("nextToken")
    if token is not None:
        after = codec.open(token, call.operation, filters)
        ordered = [item for item in ordered if name(item) > after]
    chosen = ordered[:size]
    body: dict[str, Any] = {key: [render(x) for x in chosen]}
    if len(ordered) > size:
        body["nextToken"] = codec.issue(call.operation, filters, name(chosen[-1]))
    return body
