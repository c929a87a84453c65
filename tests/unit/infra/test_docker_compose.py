"""docker-compose.yml's structure; no Docker engine runs here, so a YAML parser checks it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from shared.config import ENVIRONMENT_VARIABLES

REPO = Path(__file__).resolve().parents[3]
VERDICT_SERVICES = {"command", "evaluation", "results", "processor"}


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return loaded


def test_the_whole_stack_is_there() -> None:
    services = compose()["services"]
    assert set(services) >= VERDICT_SERVICES
    assert {"postgres", "kafka", "proxy", "prometheus", "grafana"} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:3.9")
    assert services["proxy"]["image"].startswith("nginx")


def test_every_service_has_an_image_or_a_build() -> None:
    for name, service in compose()["services"].items():
        assert "image" in service or "build" in service, name


def test_services_depend_on_what_they_need() -> None:
    services = compose()["services"]

    def deps(name: str) -> set[str]:
        d = services[name].get("depends_on", [])
        return set(d) if isinstance(d, list) else set(d.keys())

    for name in VERDICT_SERVICES:
        assert {"postgres", "kafka"} <= deps(name), name
    assert {"command", "evaluation", "results"} <= deps("proxy")
    assert "prometheus" in deps("grafana")


def test_every_variable_set_for_verdict_is_one_verdict_reads() -> None:
    services = compose()["services"]
    for name in VERDICT_SERVICES:
        environment = services[name]["environment"]
        assert set(environment) <= set(ENVIRONMENT_VARIABLES), name
        assert "DATABASE_URL" in environment
        assert "KAFKA_BOOTSTRAP_SERVERS" in environment


def test_mounted_config_files_exist() -> None:
    for service in compose()["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (REPO / source).exists(), source
