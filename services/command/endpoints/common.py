"""What every control-plane endpoint shares: handlers, If-Match, ETag, pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from services.command.handlers import CommandHandlers
from shared.errors import ServiceQuotaExceededException, ValidationException
from shared.http import json_response
from shared.wire.pagination import page

T = TypeVar("T")


def handlers(request: Request) -> CommandHandlers:
    found: CommandHandlers = request.app.state.handlers
    return found


def if_match(request: Request) -> int | None:
    """HTTP's own optimistic concurrency: If-Match carries a resourceVersion ETag."""
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    try:
        return int(raw.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise ValidationException(
            'If-Match must be a resourceVersion ETag such as "3"', field="If-Match"
        ) from None


def request_metadata(request: Request) -> dict[str, str]:
    request_id = request.headers.get("x-request-id") or request.headers.get("amz-sdk-invocation-id")
    return {"requestId": request_id} if request_id else {}


async def execute(
    request: Request,
    stream: str,
    load: Callable[[], Any],
    decide: Callable[[Any, Any], Sequence[object]],
) -> None:
    """Run one command for this request: its If-Match and request id go along."""
    await handlers(request).execute(
        stream, load, decide, if_match=if_match(request), metadata=request_metadata(request)
    )


STATUSES = ("CREATED", "UPDATING", "RUNNING", "COMPLETED", "CANCELLED")


def status_filter(request: Request) -> str | None:
    status = request.query_params.get("status")
    if status is not None and status not in STATUSES:
        raise ValidationException(f"status {status!r} is not one of {STATUSES}", field="status")
    return status


def versioned(key: str, body: dict[str, Any]) -> Response:
    return json_response({key: body}, headers={"ETag": f'"{body["resourceVersion"]}"'})


def listing(
    request: Request,
    key: str,
    items: Iterable[T],
    name: Callable[[T], str],
    render: Callable[[T], dict[str, Any]],
    *,
    limit: int,
) -> Response:
    chosen, token = page(
        items,
        name,
        max_results=request.query_params.get("maxResults"),
        next_token=request.query_params.get("nextToken"),
        limit=limit,
    )
    body: dict[str, Any] = {key: [render(x) for x in chosen]}
    if token:
        body["nextToken"] = token
    return json_response(body)


def check_quota(count: int, limit: int, what: str) -> None:
    if count >= limit:
        raise ServiceQuotaExceededException(
            f"the quota of {limit} {what} is reached", resource_type=what
        )
