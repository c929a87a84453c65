"""The results route table."""

from __future__ import annotations

from starlette.routing import Route

from services.results import endpoints as e
from shared.health import health_routes

X = "/projects/{project}/experiments/{experiment}"

routes = [
    Route(f"{X}/results", e.get_experiment_results, methods=["POST"]),
    Route(f"{X}/analysis", e.experiment_analysis, methods=["GET"]),
    # Beyond Evidently's model: the raw sufficient statistics.
    Route(f"{X}/aggregates", e.experiment_aggregates, methods=["GET"]),
    *health_routes,
]
