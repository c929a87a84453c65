"""What every control-plane endpoint shares: handlers, If-Match, ETag, pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from services.command.handlers import CommandHandlers
from shared.edge.app import Call, Reply
from shared.edge.tokens import TokenCodec
from shared.errors import ServiceQuotaExceededException, ValidationException

T = TypeVar("T")

# Members that page a listing rather than filter it: a token stays valid across them.
_PAGING = frozenset({"maxResults", "nextToken"})


def handlers(call: Call) -> CommandHandlers:
    found: CommandHandlers = call.state.handlers
    return found


def if_match(call: Call) -> int | None:
    """HTTP's own optimistic concurrency: If-Match carries a resourceVersion ETag."""
    raw = call.header("if-match")
    if raw is None:
        return None
    try:
        return int(raw.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise ValidationException(
            'If-Match must be a resourceVersion ETag such as "3"', field="If-Match"
        ) from None


def request_metadata(call: Call) -> dict[str, str]:
    return {"requestId": call.request_id}


async def execute(
    call: Call,
    stream: str,
    load: Callable[[], Any],
    decide: Callable[[Any, Any], Sequence[object]],
) -> None:
    """Run one command for this request: its If-Match and request id go along."""
    await handlers(call).execute(
        stream, load, decide, if_match=if_match(call), metadata=request_metadata(call)
    )


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


def check_quota(count: int, limit: int, what: str) -> None:
    if count >= limit:
        raise ServiceQuotaExceededException(
            f"the quota of {limit} {what} is reached", resource_type=what
        )
