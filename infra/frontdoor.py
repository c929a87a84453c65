"""One front door: a single port serving the whole Evidently API.

The same edge the services run (``shared/edge``): it matches the route table,
validates labels and body, and answers a bad request itself; a good one goes to
the service that owns the operation with its raw path unchanged, so that
service's edge sees exactly what the client sent. docker-compose puts nginx,
rendered from the same table, here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from shared import serialization
from shared.config import Settings
from shared.edge.app import Call, Edge, Reply
from shared.edge.auth import SIGNED_PATH_HEADER
from shared.edge.errors import render_error
from shared.edge.openapi import openapi_document
from shared.edge.routing import UPSTREAMS, Service, keep_dot_labels
from shared.errors import ServiceUnavailableException
from shared.health import LOCAL_HANDLERS

_HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"transfer-encoding",
    b"upgrade",
    b"date",
    b"server",
    b"content-length",
}


class Forwarder:
    def __init__(self, settings: Settings) -> None:
        self.upstreams = {s: settings.upstream(s.value) for s in UPSTREAMS}
        self.client: httpx.AsyncClient | None = None

    async def __call__(
        self, service: Service, scope: dict[str, Any], body: bytes, send: Any
    ) -> None:
        raw = scope.get("raw_path")
        path = raw.decode("latin-1") if raw else scope["path"]
        target = self.upstreams[service] + keep_dot_labels(path)
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        # The Host header travels on: the client signed it, and the service checks the
        # signature. So does the path the client signed, when re-encoding changed it.
        headers = [
            (k, v)
            for k, v in scope["headers"]
            if k.lower() not in _HOP_BY_HOP and k.lower() != SIGNED_PATH_HEADER
        ]
        if keep_dot_labels(path) != path:
            headers.append((SIGNED_PATH_HEADER, path.encode("latin-1")))
        assert self.client is not None
        try:
            upstream = await self.client.request(
                scope["method"], target, headers=headers, content=body
            )
        except httpx.HTTPError as exc:
            status, out, payload = render_error(
                ServiceUnavailableException(f"{service} unavailable: {type(exc).__name__}")
            )
            await _respond(send, status, out, payload)
            return
        out = [(k.lower(), v) for k, v in upstream.headers.raw if k.lower() not in _HOP_BY_HOP]
        await _respond(send, upstream.status_code, out, upstream.content)


async def _respond(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings) -> Edge:
    forwarder = Forwarder(settings)
    openapi = serialization.dumps(openapi_document())

    def serve_openapi(_call: Call) -> Reply:
        return Reply(content=openapi)

    @asynccontextmanager
    async def lifespan(edge: Edge) -> AsyncIterator[None]:
        forwarder.client = httpx.AsyncClient(
            timeout=httpx.Timeout(60.0), limits=httpx.Limits(max_keepalive_connections=64)
        )
        edge.state.readiness = lambda: (True, {})
        try:
            yield
        finally:
            await forwarder.client.aclose()

    return Edge(
        Service.FRONTDOOR,
        {**LOCAL_HANDLERS, "OpenApi": serve_openapi},
        settings.arns(),
        lifespan=lifespan,
        forward=forwarder,
    )
