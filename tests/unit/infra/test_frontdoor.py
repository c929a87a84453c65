"""The front door forwards the request it validated, and no other."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from infra.frontdoor import create_app
from shared.config import Settings


def forwarded(method: str, raw_path: str) -> tuple[int, str]:
    """(status, the raw path the upstream received) for one request through the front door."""
    seen: list[str] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return httpx.Response(200, json={})

    edge = create_app(Settings())
    assert edge.forward is not None
    edge.forward.client = httpx.AsyncClient(transport=httpx.MockTransport(upstream))  # type: ignore[attr-defined]
    scope = {
        "type": "http",
        "method": method,
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": b"",
        "headers": [],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(edge(scope, receive, send))
    return sent[0]["status"], seen[0] if seen else ""


def test_a_dot_label_is_not_resolved_away() -> None:
    # As a feature name ".." is valid; resolved as a dot segment it would turn
    # DeleteFeature into DeleteProject.
    assert forwarded("DELETE", "/projects/shop/features/..") == (
        200,
        "/projects/shop/features/%2E%2E",
    )
    assert forwarded("GET", "/projects/shop/features/.")[1] == "/projects/shop/features/%2E"


def test_other_paths_go_unchanged() -> None:
    assert forwarded("DELETE", "/projects/shop/features/a.b")[1] == "/projects/shop/features/a.b"
    assert forwarded("GET", "/segments/s%2Fx")[0] == 400  # refused here, never forwarded
