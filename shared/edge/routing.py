"""The one route table: every operation's method and path, from the model, and the
service that answers it.

Matching works on the raw path: it is split on "/" first and each label decoded
after, so an encoded "/" (``%2F``) inside a name stays inside that label and can
never change which operation, or which resource, a request reaches. The front
door matches this table to pick a service; each service matches it to pick a
handler; ``verdict nginx-conf`` renders it for docker-compose's nginx.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

# MAX_BODY_BYTES, re-exported: the edge and nginx's configuration read it from here.
from shared.edge.limits import MAX_BODY_BYTES as MAX_BODY_BYTES
from shared.edge.limits import MIN_BODY_BYTES, body_limit
from shared.edge.model import ServiceModel, load


class Service(StrEnum):
    COMMAND = "command"
    EVALUATION = "evaluation"
    RESULTS = "results"
    FRONTDOOR = "frontdoor"


UPSTREAMS = (Service.COMMAND, Service.EVALUATION, Service.RESULTS)

# Everything else is the control plane's.
_SERVED_BY = {
    "EvaluateFeature": Service.EVALUATION,
    "BatchEvaluateFeature": Service.EVALUATION,
    "PutProjectEvents": Service.EVALUATION,
    "GetExperimentResults": Service.RESULTS,
    "GetExperimentAnalysis": Service.RESULTS,
    "GetExperimentAggregates": Service.RESULTS,
}

# Matches remembered; past this many distinct paths the memory starts over.
_RECENT_PATHS = 4096


@dataclass(frozen=True, slots=True)
class Route:
    operation: str
    method: str
    # Literal segments as strings; a label as None, named in ``labels`` in order.
    segments: tuple[str | None, ...]
    labels: tuple[str, ...]
    service: Service | None  # None: every service answers it itself (health, metrics)
    template: str
    # The largest body read for this operation (``limits.py``); a larger one is refused
    # from its Content-Length, or as soon as that much has streamed in.
    max_body: int = MAX_BODY_BYTES

    def regex(self) -> str:
        """The path as an anchored regular expression over the raw (encoded) path."""
        parts = ["[^/?]+" if s is None else re.escape(s) for s in self.segments]
        return "^/" + "/".join(parts) + r"(\?|$)"


def _route(
    operation: str,
    method: str,
    template: str,
    service: Service | None,
    max_body: int = MIN_BODY_BYTES,
) -> Route:
    segments: list[str | None] = []
    labels: list[str] = []
    for part in template.strip("/").split("/"):
        if part.startswith("{") and part.endswith("}"):
            segments.append(None)
            labels.append(part[1:-1].rstrip("+"))
        else:
            segments.append(part)
    return Route(operation, method, tuple(segments), tuple(labels), service, template, max_body)


# Served by every process itself, outside the model.
LOCAL_ROUTES = (
    _route("Healthz", "GET", "/healthz", None),
    _route("Readyz", "GET", "/readyz", None),
    _route("Metrics", "GET", "/metrics", None),
    _route("OpenApi", "GET", "/openapi.json", None),
)


def build_routes(model: ServiceModel) -> tuple[Route, ...]:
    routes = [
        _route(
            op.name,
            op.method,
            op.uri,
            _SERVED_BY.get(op.name, Service.COMMAND),
            body_limit(model, op.name),
        )
        for op in model.operations.values()
    ]
    return (*routes, *LOCAL_ROUTES)


@dataclass(frozen=True, slots=True)
class Match:
    route: Route
    raw_labels: tuple[str, ...]


class RouteTable:
    def __init__(self, routes: tuple[Route, ...]) -> None:
        self.routes = routes
        self._by_shape: dict[tuple[str, int], list[Route]] = {}
        self._paths: dict[int, list[Route]] = {}
        # Clients call the same few paths again and again (one per project and feature).
        self._recent: dict[tuple[str, str], Match] = {}
        for route in routes:
            self._by_shape.setdefault((route.method, len(route.segments)), []).append(route)
            self._paths.setdefault(len(route.segments), []).append(route)

    def match(self, method: str, raw_path: str) -> Match | None:
        key = (method, raw_path)
        found = self._recent.get(key)
        if found is None:
            found = self._match(method, raw_path)
            if found is not None:
                if len(self._recent) >= _RECENT_PATHS:
                    self._recent.clear()
                self._recent[key] = found
        return found

    def _match(self, method: str, raw_path: str) -> Match | None:
        segments = raw_path[1:].split("/") if raw_path.startswith("/") else None
        if segments is None:
            return None
        for route in self._by_shape.get((method, len(segments)), ()):
            labels = _labels(route, segments)
            if labels is not None:
                return Match(route, labels)
        return None

    def allows_other_method(self, raw_path: str) -> bool:
        segments = raw_path[1:].split("/")
        return any(_labels(r, segments) is not None for r in self._paths.get(len(segments), ()))

    def operation(self, name: str) -> Route:
        return next(r for r in self.routes if r.operation == name)


def _labels(route: Route, segments: list[str]) -> tuple[str, ...] | None:
    labels = []
    for want, got in zip(route.segments, segments, strict=True):
        if want is None:
            labels.append(got)
        elif want != got:
            return None
    return tuple(labels)


TABLE = RouteTable(build_routes(load()))


def nginx_conf(upstreams: dict[str, str], listen: int = 8080) -> str:
    """The table as an nginx server: a ``map`` over the raw ``$request_uri``.

    nginx's ``location`` matches the decoded path, where ``%2F`` has become "/";
    routing on ``$request_uri`` sees the path as the client sent it, as the
    services do. ``proxy_pass`` without a URI forwards that raw path unchanged.
    """
    lines = [
        "# Generated by `verdict nginx-conf` from shared/edge/routing.py; do not edit by hand.",
        "events {}",
        "http {",
        f"  client_max_body_size {MAX_BODY_BYTES // (1024 * 1024)}m;",
        "  map $request_uri $verdict_upstream {",
        "    default command;",
    ]
    seen: set[str] = set()
    for route in TABLE.routes:
        if route.service in (None, Service.COMMAND) or route.regex() in seen:
            continue
        seen.add(route.regex())
        lines.append(f'    "~{route.regex()}" {route.service.value};  # {route.operation}')
    lines.append("  }")
    for service in UPSTREAMS:
        lines += [
            f"  upstream {service.value} {{",
            f"    server {upstreams[service.value]};",
            "    keepalive 32;",
            "  }",
        ]
    lines += [
        "  server {",
        f"    listen {listen};",
        "    location / {",
        "      proxy_pass http://$verdict_upstream;",
        "      proxy_http_version 1.1;",
        '      proxy_set_header Connection "";',
        "      proxy_set_header Host $host;",
        "    }",
        "  }",
        "}",
        "",
    ]
    return "\n".join(lines)


def keep_dot_labels(raw_path: str) -> str:
    """The raw path with any "." or ".." segment percent-encoded.

    Names may be "." or ".." (the model's name pattern allows dots), and the edge matched
    them as labels; but an HTTP client resolves dot segments (RFC 3986), so
    DELETE /projects/p/features/.. would reach the service as DELETE /projects/p, another
    operation on another resource. Encoded, they stay labels: the service's edge decodes
    each label after it has split the path."""
    return "/".join(
        segment.replace(".", "%2E") if segment in (".", "..") else segment
        for segment in raw_path.split("/")
    )
