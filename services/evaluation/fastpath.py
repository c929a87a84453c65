"""The two evaluation operations served straight from ASGI, ahead of Starlette.

Profiling BatchEvaluateFeature under wrk (py-spy; README, Benchmarks) put a fifth of
the service's CPU in Starlette's router, request object and middleware chain.
This shell does only what those layers did for these two routes: match the
path (ARN segments collapsed), read the body, carry the request id, record the
per-operation metrics, and write the response or the AWS error shape. Every
other request goes to the Starlette app unchanged.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from prometheus_client.metrics import Counter as CounterChild
from prometheus_client.metrics import Histogram as HistogramChild

from services.evaluation.dataplane import DataPlane
from shared import serialization
from shared.errors import VerdictError
from shared.http import INTERNAL_ERROR_BODY
from shared.observability import HTTP_LATENCY, HTTP_REQUESTS, incoming_request_id, request_id_var
from shared.routing import collapse_arn_segments

log = logging.getLogger(__name__)

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]

EVALUATE = "EvaluateFeature"
BATCH = "BatchEvaluateFeature"


def match(path: str) -> tuple[str, str, str] | None:
    """(operation, project, feature) for the two evaluation paths; None for any other."""
    if not path.startswith("/projects/"):
        return None
    parts = path.split("/")
    if len(parts) == 4 and parts[3] == "evaluations" and parts[2]:
        return BATCH, parts[2], ""
    if len(parts) == 5 and parts[3] == "evaluations" and parts[2] and parts[4]:
        return EVALUATE, parts[2], parts[4]
    return None


class EvaluationFastPath:
    def __init__(self, app: ASGIApp, service: str = "evaluation") -> None:
        self.app = app
        self.service = service
        # Set by the lifespan once the view, rules and publishers exist.
        self.plane: DataPlane | None = None
        self._latency: dict[str, HistogramChild] = {}
        self._requests: dict[tuple[str, int], CounterChild] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        plane = self.plane
        if scope["type"] != "http" or scope["method"] != "POST" or plane is None:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        raw_path = scope.get("raw_path")
        if raw_path and b"%2" in raw_path:
            path = collapse_arn_segments(raw_path.decode("latin-1"))
        route = match(path)
        if route is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        operation, project, feature = route
        rid = incoming_request_id(scope["headers"]) or str(uuid.uuid4())
        token = request_id_var.set(rid)
        try:
            body = await _read_body(receive)
            if body is None:
                return  # the client went away
            try:
                if operation == EVALUATE:
                    document = plane.evaluate_feature(project, feature, body, rid)
                else:
                    document = plane.batch_evaluate_feature(project, body, rid)
                status, headers, payload = 200, [], serialization.dumps(document)
            except VerdictError as exc:
                status = exc.status
                headers = [(b"x-amzn-errortype", exc.code.encode())]
                payload = serialization.dumps(exc.body())
            except Exception:
                log.exception("unhandled error on POST %s", path)
                status = 500
                headers = [(b"x-amzn-errortype", b"InternalServerException")]
                payload = serialization.dumps(INTERNAL_ERROR_BODY)
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(payload)).encode()),
                        (b"x-amzn-requestid", rid.encode()),
                        *headers,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": payload})
            self._record(operation, status, time.perf_counter() - started)
        finally:
            request_id_var.reset(token)

    def _record(self, operation: str, status: int, seconds: float) -> None:
        latency = self._latency.get(operation)
        if latency is None:
            latency = self._latency[operation] = HTTP_LATENCY.labels(self.service, operation)
        requests = self._requests.get((operation, status))
        if requests is None:
            requests = self._requests[(operation, status)] = HTTP_REQUESTS.labels(
                self.service, operation, str(status)
            )
        latency.observe(seconds)
        requests.inc()


async def _read_body(receive: Any) -> bytes | None:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
