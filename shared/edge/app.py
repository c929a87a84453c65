"""The ASGI edge every Verdict HTTP process runs: the services and the front door.

One request's path through it: match the route on the raw path, read the body,
build and validate the operation's input (labels, query, body), call the
operation's handler with a ``Call``, write its ``Reply`` or the error in AWS's
shape. Request ids, per-operation metrics and logs happen here, once. A process
that does not serve an operation forwards it (the front door) or answers
UnknownOperationException (a service reached on the wrong port).
"""

from __future__ import annotations

import inspect
import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from prometheus_client.metrics import Counter as CounterChild
from prometheus_client.metrics import Histogram as HistogramChild

from shared import serialization
from shared.domain.access import PUBLIC_OPERATIONS
from shared.domain.arn import ArnScheme
from shared.edge.auth import Authenticator, Principal, SignedRequest, authorize
from shared.edge.errors import Headers, render_error
from shared.edge.inputs import OperationInput
from shared.edge.model import load
from shared.edge.ratelimit import RateLimiter
from shared.edge.routing import MAX_BODY_BYTES, TABLE, Route, Service
from shared.errors import (
    MethodNotAllowedException,
    ThrottlingException,
    UnknownOperationException,
    ValidationException,
)
from shared.observability import HTTP_LATENCY, HTTP_REQUESTS, incoming_request_id, request_id_var

log = logging.getLogger(__name__)

JSON = b"application/json"


@dataclass(slots=True)
class Call:
    """One validated request, as an operation's handler sees it."""

    operation: str
    # The validated input: labels (names resolved from ARNs), query members (typed)
    # and body members, keyed by their member names in the model.
    input: dict[str, Any]
    headers: list[tuple[bytes, bytes]]
    request_id: str
    state: Any
    # The key that signed the request; None where checking is off or the call is public.
    principal: Principal | None = None

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value.decode("latin-1")
        return None


@dataclass(slots=True)
class Reply:
    """A handler's answer: a JSON document, or raw content with its media type."""

    body: Any = None
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    content: bytes | None = None
    media_type: bytes = JSON


Handler = Callable[[Call], Any]
# Forwards a validated request to the service that owns it (the front door).
Forwarder = Callable[[Service, dict[str, Any], bytes, Any], Awaitable[None]]
Lifespan = Callable[["Edge"], AbstractAsyncContextManager[None]]


@dataclass(slots=True)
class _Served:
    route: Route
    input: OperationInput | None
    handler: Handler | None
    is_async: bool
    latency: HistogramChild | None = None
    requests: dict[int, CounterChild] = field(default_factory=dict)


class Edge:
    def __init__(
        self,
        service: Service,
        handlers: Mapping[str, Handler],
        arns: ArnScheme,
        *,
        lifespan: Lifespan | None = None,
        forward: Forwarder | None = None,
        auth: Authenticator | None = None,
    ) -> None:
        self.service = service
        self.arns = arns
        self.lifespan = lifespan
        self.forward = forward
        # None: checking is off (VERDICT_AUTH=off), said loudly by the service at start.
        self.auth = auth
        # Per key, so only where requests are signed: set by ``security.secure``.
        self.limiter: RateLimiter | None = None
        # Filled by the lifespan: what handlers reach as ``call.state``.
        self.state = SimpleNamespace()
        model = load()
        self._served: dict[str, _Served] = {}
        for route in TABLE.routes:
            handler = handlers.get(route.operation)
            mine = route.service == service or (route.service is None and handler is not None)
            if not mine and forward is None:
                continue
            if route.service is None and handler is None:
                continue
            if mine and handler is None:
                raise ValueError(f"{service} serves {route.operation} but has no handler for it")
            operation = model.operations.get(route.operation)
            inputs = OperationInput(model, operation, route) if operation else None
            self._served[route.operation] = _Served(
                route,
                inputs,
                handler if mine else None,
                inspect.iscoroutinefunction(handler),
            )
        unknown = set(handlers) - set(self._served)
        if unknown:
            raise ValueError(f"handlers for operations not in the route table: {sorted(unknown)}")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:  # a websocket: the API has none
            await send({"type": "websocket.close", "code": 1008})

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = time.perf_counter()
        raw = scope.get("raw_path")
        raw_path = raw.decode("latin-1") if raw else scope["path"]
        method = scope["method"]
        rid = incoming_request_id(scope["headers"]) or str(uuid.uuid4())
        token = request_id_var.set(rid)
        served: _Served | None = None
        try:
            match = TABLE.match(method, raw_path)
            served = self._served.get(match.route.operation) if match else None
            if match is None or served is None:
                if match is None and TABLE.allows_other_method(raw_path):
                    raise MethodNotAllowedException(f"{method} is not allowed on {raw_path}")
                raise UnknownOperationException(
                    f"no operation {method} {raw_path} here"
                    + (
                        f"; {match.route.operation} is served by the {match.route.service} service"
                        if match
                        else ""
                    )
                )
            body = await _read_body(receive, scope["headers"], served.route.max_body)
            if body is None:
                return  # the client went away
            route = served.route
            principal = None
            checked = self.auth is not None and served.handler is not None
            if checked and route.operation not in PUBLIC_OPERATIONS:
                assert self.auth is not None
                # Before the body is parsed: nothing of an unsigned request is looked at.
                principal = self.auth.authenticate(
                    SignedRequest(
                        method,
                        raw_path,
                        scope.get("query_string", b"").decode("latin-1"),
                        scope["headers"],
                        body,
                    )
                )
            document: dict[str, Any] = {}
            if served.input is not None:
                document = served.input.parse(
                    match.raw_labels, scope.get("query_string", b""), body, self.arns
                )
            if served.handler is None:
                assert self.forward is not None and route.service is not None
                # The owning service checks the signature and records the request.
                await self.forward(route.service, scope, body, send)
                return
            if principal is not None:
                project = document.get("project")
                authorize(principal, route.operation, project)
                if self.limiter is not None:
                    wait = self.limiter.check(principal.key_id, route.operation, project)
                    if wait is not None:
                        raise ThrottlingException(
                            f"rate exceeded for {route.operation} with key {principal.key_id};"
                            f" retry in {wait:.3f} s",
                            retry_after=wait,
                        )
            call = Call(route.operation, document, scope["headers"], rid, self.state, principal)
            result = served.handler(call)
            if served.is_async:
                result = await result
            status = await _send_reply(send, result, rid)
        except Exception as exc:
            status, headers, payload = render_error(exc, f"{method} {raw_path}")
            await _send(send, status, [*headers, (b"x-amzn-requestid", rid.encode())], payload)
        finally:
            request_id_var.reset(token)
        if served is not None:
            self._record(served, status, started)

    def _record(self, served: _Served, status: int, started: float) -> None:
        if served.latency is None:
            served.latency = HTTP_LATENCY.labels(self.service.value, served.route.operation)
        served.latency.observe(time.perf_counter() - started)
        counter = served.requests.get(status)
        if counter is None:
            counter = served.requests[status] = HTTP_REQUESTS.labels(
                self.service.value, served.route.operation, str(status)
            )
        counter.inc()

    async def _lifespan(self, receive: Any, send: Any) -> None:
        message = await receive()
        assert message["type"] == "lifespan.startup"
        context = self.lifespan(self) if self.lifespan else None
        try:
            if context is not None:
                await context.__aenter__()
        except BaseException as exc:
            log.exception("startup failed")
            await send({"type": "lifespan.startup.failed", "message": repr(exc)})
            return
        await send({"type": "lifespan.startup.complete"})
        message = await receive()
        assert message["type"] == "lifespan.shutdown"
        try:
            if context is not None:
                await context.__aexit__(None, None, None)
        finally:
            await send({"type": "lifespan.shutdown.complete"})


async def _read_body(
    receive: Any, headers: list[tuple[bytes, bytes]], limit: int = MAX_BODY_BYTES
) -> bytes | None:
    """The request's body, or None if the client went away.

    One larger than ``limit`` (the operation's, ``shared/edge/limits.py``) is refused
    before a byte of it is read when its Content-Length says so, else as soon as more
    than ``limit`` has streamed in (a chunked body): the server never holds more than
    ``limit`` of it. What the client still sends after the refusal is discarded by the
    HTTP server as it arrives, never buffered; a client that waits for ``100 Continue``
    sends none. A 400 ValidationException naming the body, the status the model gives
    ValidationException; AWS words it "Request entity too large"."""
    refusal = f"Request entity too large: the request body exceeds {limit} bytes"
    for name, value in headers:
        if name == b"content-length":
            declared = value.strip()
            # 19 digits or more: past any limit, and too long for int() to be cheap.
            if declared.isdigit() and (len(declared) > 18 or int(declared) > limit):
                raise ValidationException(refusal, field="body")
            break
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise ValidationException(refusal, field="body")
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks) if len(chunks) != 1 else chunks[0]


async def _send_reply(send: Any, result: Any, rid: str) -> int:
    if not isinstance(result, Reply):
        headers: Headers = [(b"content-type", JSON), (b"x-amzn-requestid", rid.encode())]
        await _send(send, 200, headers, serialization.dumps(result))
        return 200
    payload = result.content if result.content is not None else serialization.dumps(result.body)
    headers = [(b"content-type", result.media_type), (b"x-amzn-requestid", rid.encode())]
    headers += [(k.lower().encode(), v.encode("latin-1")) for k, v in result.headers]
    await _send(send, result.status, headers, payload)
    return result.status


async def _send(send: Any, status: int, headers: Headers, payload: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(payload)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": payload})
