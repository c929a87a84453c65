"""The data-plane route table."""

from __future__ import annotations

from starlette.routing import Route

from services.evaluation import endpoints as e
from shared.health import health_routes

routes = [
    Route("/projects/{project}/evaluations/{feature}", e.evaluate_feature, methods=["POST"]),
    Route("/projects/{project}/evaluations", e.batch_evaluate_feature, methods=["POST"]),
    Route("/events/projects/{project}", e.put_project_events, methods=["POST"]),
    *health_routes,
]
