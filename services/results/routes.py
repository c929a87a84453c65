"""The results route table."""

from __future__ import annotations

from starlette.routing import Route

from services.results import endpoints as e
from shared.health import health_routes

X = "/projects/{project}/experiments/{experiment}"

routes = [
    # Beyond Evidently's model: the raw sufficient statistics.
    Route(f"{X}/aggregates", e.experiment_aggregates, methods=["GET"]),
    *health_routes,
]
