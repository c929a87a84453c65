"""The HTTP edge every service shares: orjson responses and the AWS error shape.

One handler on VerdictError writes the status, the ``x-amzn-ErrorType`` header
and ``{"message": ...}``, which is what botocore's rest-json parser reads to
raise ``client.exceptions.<Code>``. Anything else is an InternalServerException,
logged once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared import serialization
from shared.errors import VerdictError
from shared.routing import collapse_arn_segments

log = logging.getLogger(__name__)

JSON = "application/json"


def json_response(
    content: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(serialization.dumps(content), status, headers=headers, media_type=JSON)


def error_response(code: str, status: int, body: dict[str, Any]) -> Response:
    return Response(
        serialization.dumps(body),
        status,
        headers={"x-amzn-ErrorType": code},
        media_type=JSON,
    )


async def verdict_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, VerdictError)
    return error_response(exc.code, exc.status, exc.body())


async def http_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response("UnknownOperationException", 404, {"message": "no such operation"})
    if exc.status_code == 405:
        return error_response(
            "UnknownOperationException", 405, {"message": "method not allowed here"}
        )
    return error_response("InternalServerException", exc.status_code, {"message": exc.detail})


# What a client sees of an unexpected error; the details go to the service log.
INTERNAL_ERROR_BODY = {"message": "internal error; see the service log"}


async def unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response("InternalServerException", 500, INTERNAL_ERROR_BODY)


EXCEPTION_HANDLERS = {
    VerdictError: verdict_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}


class ArnPathMiddleware:
    """Routes on names: a project or segment ARN in the path becomes its name."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path")
            if raw and b"%2" in raw:
                scope = {**scope, "path": collapse_arn_segments(raw.decode("latin-1"))}
        await self.app(scope, receive, send)


def service_app(service: str, routes: list[Any], lifespan: Any) -> Any:
    """A Verdict HTTP service: its routes plus /metrics, the AWS error shape, ARN paths,
    request ids and per-operation metrics."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware

    from shared.observability import ObservabilityMiddleware, metrics_routes

    return Starlette(
        routes=[*routes, *metrics_routes],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[
            Middleware(ArnPathMiddleware),
            Middleware(ObservabilityMiddleware, service=service),
        ],
        lifespan=lifespan,
    )
