"""Small builders the end-to-end tests share."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from infra import keys
from infra.launch.ports import free_port
from infra.launch.stack import Stack
from shared.domain.access import Scope

HTTP_SERVICES = ("command", "evaluation", "results", "frontdoor")


def now() -> datetime:
    return datetime.now(UTC)


def variations(*names: str, kind: str = "stringValue") -> list[dict[str, Any]]:
    def value(i: int, name: str) -> Any:
        return {
            "stringValue": name,
            "longValue": i,
            "doubleValue": i + 0.5,
            "boolValue": i % 2 == 0,
        }[kind]

    return [{"name": n, "value": {kind: value(i, n)}} for i, n in enumerate(names)]


def metric_goal(name: str = "revenue", change: str = "INCREASE") -> dict[str, Any]:
    return {
        "metricDefinition": {
            "name": name,
            "entityIdKey": "userDetails.userId",
            "valueKey": f"details.{name}",
            "eventPattern": json.dumps({"details": {name: [{"exists": True}]}}),
            "unitLabel": "USD",
        },
        "desiredChange": change,
    }


def make_feature(client: Any, project: str, name: str = "f", *names: str) -> dict[str, Any]:
    chosen = names or ("control", "treatment")
    feature: dict[str, Any] = client.create_feature(
        project=project, name=name, variations=variations(*chosen)
    )["feature"]
    return feature


def make_experiment(
    client: Any, project: str, name: str = "e", feature: str = "f", **extra: Any
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "project": project,
        "name": name,
        "treatments": [
            {"name": "control", "feature": feature, "variation": "control"},
            {"name": "treatment", "feature": feature, "variation": "treatment"},
        ],
        "metricGoals": [metric_goal()],
        "onlineAbConfig": {
            "controlTreatmentName": "control",
            "treatmentWeights": {"control": 50000, "treatment": 50000},
        },
    }
    params.update(extra)
    experiment: dict[str, Any] = client.create_experiment(**params)["experiment"]
    return experiment


def make_launch(
    client: Any, project: str, name: str = "l", feature: str = "f", **extra: Any
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "project": project,
        "name": name,
        "groups": [
            {"name": "g-control", "feature": feature, "variation": "control"},
            {"name": "g-treatment", "feature": feature, "variation": "treatment"},
        ],
        "scheduledSplitsConfig": {
            "steps": [
                {
                    "startTime": now() - timedelta(minutes=1),
                    "groupWeights": {"g-control": 90000, "g-treatment": 10000},
                },
            ]
        },
    }
    params.update(extra)
    launch: dict[str, Any] = client.create_launch(**params)["launch"]
    return launch


@contextmanager
def secured_stack(stack: Stack, home: Path, **settings: Any) -> Iterator[Stack]:
    """The HTTP services again, signature checking on, beside the suite's main stack (which
    runs with VERDICT_AUTH=off) on the same Postgres and Kafka; ``settings`` override more."""
    secured = stack.settings.model_copy(
        update={
            "auth": True,
            "home": home,
            "port": free_port(),
            "command_port": free_port(),
            "evaluation_port": free_port(),
            "results_port": free_port(),
            "processor_port": free_port(),
            **settings,
        }
    )
    # No second processor: it would join the main stack's consumer group.
    running = Stack(secured, stack.infrastructure, home / "logs")
    running.start(HTTP_SERVICES)
    try:
        yield running
    finally:
        running.stop()


def new_key(stack: Stack, scope: Scope, projects: tuple[str, ...] = ()) -> keys.NewKey:
    """A key made as an operator does (``infra/keys.py``, what ``verdict keys create`` runs)."""
    url = stack.infrastructure.database_url
    return asyncio.run(keys.create(url, stack.settings, scope, projects))


def propagated(
    stack: Any, services: tuple[str, ...] = ("evaluation",), timeout: float = 10.0
) -> None:
    """Wait until the given services' views have applied everything the command service has.

    The command service answers once its own view applied a change; the other
    services follow the feed a few milliseconds behind.
    """
    import time

    import httpx

    target = httpx.get(f"{stack.url('command')}/readyz").json()["position"]
    deadline = time.monotonic() + timeout
    for service in services:
        while httpx.get(f"{stack.url(service)}/readyz").json().get("position", 0) < target:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{service} did not reach position {target}")
            time.sleep(0.005)
