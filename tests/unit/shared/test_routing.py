"""The front door's one routing table, and the nginx config rendered from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.routing import collapse_arn_segments, nginx_conf, service_for

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/projects/p/evaluations/f", "evaluation"),
        ("/projects/p/evaluations", "evaluation"),
        ("/events/projects/p", "evaluation"),
        ("/projects/p/experiments/e/results", "results"),
        ("/projects/p/experiments/e", "command"),
        ("/projects/p/experiments/e/start", "command"),
        ("/projects/p/features/f", "command"),
        ("/projects", "command"),
        ("/segments/s/references", "command"),
        ("/tags/arn:aws:evidently:us-east-1:1:project/p", "command"),
        ("/test-segment-pattern", "command"),
    ],
)
def test_each_evidently_path_reaches_its_service(path: str, service: str) -> None:
    assert service_for(path) == service


def test_committed_nginx_conf_is_rendered_from_the_table() -> None:
    committed = (REPO / "infra" / "nginx" / "nginx.conf").read_text()
    rendered = nginx_conf(
        {"command": "command:8081", "evaluation": "evaluation:8082", "results": "results:8083"}
    )
    assert committed == rendered, "run `make nginx-conf` after changing shared/routing.py"


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ("/projects/p/features/f", "/projects/p/features/f"),
        (
            "/projects/arn%3Aaws%3Aevidently%3Aus-east-1%3A1%3Aproject%2Fshop/evaluations/f",
            "/projects/shop/evaluations/f",
        ),
        (
            "/segments/arn%3Aaws%3Aevidently%3Aus-east-1%3A1%3Asegment%2Fvip/references",
            "/segments/vip/references",
        ),
        (
            "/tags/arn%3Aaws%3Aevidently%3Aus-east-1%3A1%3Aproject%2Fshop%2Ffeature%2Ff",
            "/tags/arn:aws:evidently:us-east-1:1:project/shop/feature/f",
        ),
    ],
)
def test_arn_segments_collapse_to_names(raw: str, path: str) -> None:
    assert collapse_arn_segments(raw) == path
    assert service_for(collapse_arn_segments(raw)) == service_for(path)
