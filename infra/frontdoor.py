"""One front door: a single port serving the whole Evidently API.

A small ASGI reverse proxy over ``shared.routing``: a boto3 client needs one
``endpoint_url``. docker-compose puts nginx, rendered from the same table, here.
"""

from __future__ import annotations

from typing import Any

import httpx

from shared.config import Settings
from shared.routing import SERVICES, collapse_arn_segments, service_for

_HOP_BY_HOP = {
    b"connection",
    b"keep-alive",
    b"transfer-encoding",
    b"upgrade",
    b"host",
    b"date",
    b"server",
    b"content-length",
}


class FrontDoor:
    def __init__(self, settings: Settings) -> None:
        self.upstreams = {s: settings.upstream(s) for s in SERVICES}
        self.client: httpx.AsyncClient | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        assert scope["type"] == "http"
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        raw_path = (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        target = self.upstreams[service_for(collapse_arn_segments(raw_path))] + raw_path
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in _HOP_BY_HOP]
        assert self.client is not None
        try:
            upstream = await self.client.request(
                scope["method"], target, headers=headers, content=body
            )
        except httpx.HTTPError as exc:
            await _respond(
                send,
                503,
                [
                    (b"x-amzn-errortype", b"ServiceUnavailableException"),
                    (b"content-type", b"application/json"),
                ],
                b'{"message": "upstream unavailable: ' + type(exc).__name__.encode() + b'"}',
            )
            return
        out_headers = [
            (k.lower(), v) for k, v in upstream.headers.raw if k.lower() not in _HOP_BY_HOP
        ]
        await _respond(send, upstream.status_code, out_headers, upstream.content)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.client = httpx.AsyncClient(
                    timeout=httpx.Timeout(60.0), limits=httpx.Limits(max_keepalive_connections=64)
                )
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self.client is not None:
                    await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _respond(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
