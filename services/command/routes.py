"""The control-plane route table: paths and methods from the botocore evidently model,
then Verdict's extra endpoints (seed 004 lifecycle, audit log)."""

from __future__ import annotations

from starlette.routing import Route

from services.command.endpoints import experiments as ex
from services.command.endpoints import features as fe
from services.command.endpoints import launches as la
from services.command.endpoints import projects as pr
from services.command.endpoints import segments as se
from services.command.endpoints import tags as ta
from shared.health import health_routes

P = "/projects/{project}"

routes = [
    Route("/projects", pr.create_project, methods=["POST"]),
    Route("/projects", pr.list_projects, methods=["GET"]),
    Route(P, pr.get_project, methods=["GET"]),
    Route(P, pr.update_project, methods=["PATCH"]),
    Route(P, pr.delete_project, methods=["DELETE"]),
    Route(f"{P}/data-delivery", pr.update_project_data_delivery, methods=["PATCH"]),
    Route(f"{P}/features", fe.create_feature, methods=["POST"]),
    Route(f"{P}/features", fe.list_features, methods=["GET"]),
    Route(f"{P}/features/{{feature}}", fe.get_feature, methods=["GET"]),
    Route(f"{P}/features/{{feature}}", fe.update_feature, methods=["PATCH"]),
    Route(f"{P}/features/{{feature}}", fe.delete_feature, methods=["DELETE"]),
    Route(f"{P}/launches", la.create_launch, methods=["POST"]),
    Route(f"{P}/launches", la.list_launches, methods=["GET"]),
    Route(f"{P}/launches/{{launch}}", la.get_launch, methods=["GET"]),
    Route(f"{P}/launches/{{launch}}", la.update_launch, methods=["PATCH"]),
    Route(f"{P}/launches/{{launch}}", la.delete_launch, methods=["DELETE"]),
    Route(f"{P}/launches/{{launch}}/start", la.start_launch, methods=["POST"]),
    Route(f"{P}/launches/{{launch}}/cancel", la.stop_launch, methods=["POST"]),
    Route(f"{P}/experiments", ex.create_experiment, methods=["POST"]),
    Route(f"{P}/experiments", ex.list_experiments, methods=["GET"]),
    Route(f"{P}/experiments/{{experiment}}", ex.get_experiment, methods=["GET"]),
    Route(f"{P}/experiments/{{experiment}}", ex.update_experiment, methods=["PATCH"]),
    Route(f"{P}/experiments/{{experiment}}", ex.delete_experiment, methods=["DELETE"]),
    Route(f"{P}/experiments/{{experiment}}/start", ex.start_experiment, methods=["POST"]),
    Route(f"{P}/experiments/{{experiment}}/cancel", ex.stop_experiment, methods=["POST"]),
    Route("/segments", se.create_segment, methods=["POST"]),
    Route("/segments", se.list_segments, methods=["GET"]),
    Route("/segments/{segment}", se.get_segment, methods=["GET"]),
    Route("/segments/{segment}", se.delete_segment, methods=["DELETE"]),
    Route("/segments/{segment}/references", se.list_segment_references, methods=["GET"]),
    Route("/test-segment-pattern", se.test_segment_pattern, methods=["POST"]),
    Route("/tags/{resourceArn:path}", ta.tag_resource, methods=["POST"]),
    Route("/tags/{resourceArn:path}", ta.untag_resource, methods=["DELETE"]),
    Route("/tags/{resourceArn:path}", ta.list_tags_for_resource, methods=["GET"]),
    # Beyond Evidently's model (seed 004 and the audit log); boto3 never calls these.
    Route(f"{P}/experiments/{{experiment}}/winner", ex.declare_winner, methods=["POST"]),
    Route(f"{P}/experiments/{{experiment}}/archive", ex.archive_experiment, methods=["POST"]),
    Route("/history/{resourceArn:path}", ta.resource_history, methods=["GET"]),
    *health_routes,
]
