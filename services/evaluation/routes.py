"""The data-plane route table."""

from __future__ import annotations

from starlette.routing import Route

from services.evaluation import events
from shared.health import health_routes

# EvaluateFeature and BatchEvaluateFeature never reach this table: see fastpath.
routes = [
    Route("/events/projects/{project}", events.put_project_events, methods=["POST"]),
    *health_routes,
]
