"""The results route table."""

from __future__ import annotations

from starlette.routing import Route

from services.results import endpoints as e
from shared.health import health_routes

routes = [
    Route("/projects/{project}/event-aggregates", e.event_aggregates, methods=["GET"]),
    *health_routes,
]
