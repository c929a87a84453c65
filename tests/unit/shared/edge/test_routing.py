"""The one route table: raw paths split before decoding, every operation reachable."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from shared.edge.model import load
from shared.edge.routing import TABLE, Service, nginx_conf


def _path(template: str, **labels: str) -> str:
    for name, value in labels.items():
        template = template.replace("{" + name + "}", quote(value, safe=""))
    return template


@pytest.mark.parametrize("operation", sorted(load().operations))
def test_every_operation_is_matched_by_its_own_template(operation: str) -> None:
    op = load().operations[operation]
    route = TABLE.operation(operation)
    path = _path(op.uri, **{label: f"{label}-1" for label in route.labels})
    match = TABLE.match(op.method, path)
    assert match is not None and match.route.operation == operation
    assert match.raw_labels == tuple(f"{label}-1" for label in route.labels)


def test_an_encoded_slash_stays_inside_its_label() -> None:
    match = TABLE.match("DELETE", "/projects/P%2Ffeatures%2FF")
    assert match is not None
    assert match.route.operation == "DeleteProject"
    assert match.raw_labels == ("P%2Ffeatures%2FF",)
    get = TABLE.match("GET", "/projects/P%2Ffeatures")
    assert get is not None and get.route.operation == "GetProject"


def test_an_arn_label_is_one_segment() -> None:
    arn = "arn:aws:evidently:us-east-1:000000000000:project/p/feature/f"
    match = TABLE.match("POST", f"/tags/{quote(arn, safe='')}")
    assert match is not None and match.route.operation == "TagResource"
    assert TABLE.match("POST", f"/tags/{arn}") is None


@pytest.mark.parametrize(
    ("method", "path", "operation", "service"),
    [
        ("POST", "/projects/p/evaluations/f", "EvaluateFeature", Service.EVALUATION),
        ("POST", "/projects/p/evaluations", "BatchEvaluateFeature", Service.EVALUATION),
        ("POST", "/events/projects/p", "PutProjectEvents", Service.EVALUATION),
        ("POST", "/projects/p/experiments/e/results", "GetExperimentResults", Service.RESULTS),
        ("GET", "/projects/p/experiments/e/analysis", "GetExperimentAnalysis", Service.RESULTS),
        ("POST", "/projects/p/experiments/e/cancel", "StopExperiment", Service.COMMAND),
        ("PATCH", "/projects/p/data-delivery", "UpdateProjectDataDelivery", Service.COMMAND),
        ("GET", "/healthz", "Healthz", None),
    ],
)
def test_services(method: str, path: str, operation: str, service: Service | None) -> None:
    match = TABLE.match(method, path)
    assert match is not None
    assert (match.route.operation, match.route.service) == (operation, service)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/projects/p/evaluations/f/extra"),
        ("GET", "/nowhere"),
        ("POST", "projects"),
        ("GET", "/projects/p/features/f/x"),
    ],
)
def test_no_route(method: str, path: str) -> None:
    assert TABLE.match(method, path) is None


def test_another_method_on_a_known_path_is_told_apart() -> None:
    assert TABLE.match("PUT", "/projects/p") is None
    assert TABLE.allows_other_method("/projects/p")
    assert not TABLE.allows_other_method("/nowhere/at/all")


def test_an_empty_label_still_matches_so_validation_can_name_it() -> None:
    match = TABLE.match("GET", "/projects//features")
    assert match is not None and match.raw_labels == ("",)


def test_nginx_routes_on_the_raw_request_uri() -> None:
    text = nginx_conf({"command": "c:1", "evaluation": "e:2", "results": "r:3"})
    assert "map $request_uri $verdict_upstream" in text
    assert "proxy_pass http://$verdict_upstream;" in text
    assert '"~^/events/projects/[^/?]+(\\?|$)" evaluation;' in text
    assert "location ~" not in text  # nginx's location sees the decoded path


def test_the_checked_in_nginx_conf_is_current() -> None:
    from pathlib import Path

    rendered = nginx_conf(
        {"command": "command:8081", "evaluation": "evaluation:8082", "results": "results:8083"}
    )
    checked_in = Path(__file__).resolve().parents[4] / "infra/nginx/nginx.conf"
    assert checked_in.read_text() == rendered
