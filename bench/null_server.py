"""The measurement floor for EvaluateFeature latency: an ASGI app that answers at once.

It runs under the same server (uvicorn, httptools, uvloop) and takes the same
load generator, on the same machine and in the same run as the evaluation
service, so what the load generator, the server and the two shared cores add
to a request shows up here; the evaluation service's own cost is the rest.
"""

from __future__ import annotations

from typing import Any

BODY = b'{"variation":"control","value":{"stringValue":"control"},"reason":"DEFAULT"}'
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(BODY)).encode())]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": BODY})
