"""The control-plane route table: paths and methods from the botocore evidently model."""

from __future__ import annotations

from starlette.routing import Route

from services.command import endpoints as e
from shared.health import health_routes

routes = [
    Route("/projects", e.create_project, methods=["POST"]),
    Route("/projects", e.list_projects, methods=["GET"]),
    Route("/projects/{project}", e.get_project, methods=["GET"]),
    Route("/projects/{project}", e.update_project, methods=["PATCH"]),
    Route("/projects/{project}", e.delete_project, methods=["DELETE"]),
    Route("/projects/{project}/data-delivery", e.update_project_data_delivery, methods=["PATCH"]),
    Route("/projects/{project}/features", e.create_feature, methods=["POST"]),
    Route("/projects/{project}/features", e.list_features, methods=["GET"]),
    Route("/projects/{project}/features/{feature}", e.get_feature, methods=["GET"]),
    Route("/projects/{project}/features/{feature}", e.update_feature, methods=["PATCH"]),
    Route("/projects/{project}/features/{feature}", e.delete_feature, methods=["DELETE"]),
    *health_routes,
]
