"""/healthz (alive) and /readyz (connected and caught up), the same on every service."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.http import json_response

ReadinessCheck = Callable[[], tuple[bool, dict[str, object]]]


async def healthz(_request: Request) -> Response:
    return json_response({"status": "alive"})


async def readyz(request: Request) -> Response:
    check: ReadinessCheck | None = getattr(request.app.state, "readiness", None)
    if check is None:
        return json_response({"status": "starting"}, status=503)
    ready, detail = check()
    return json_response(
        {"status": "ready" if ready else "not ready", **detail}, 200 if ready else 503
    )


health_routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]
