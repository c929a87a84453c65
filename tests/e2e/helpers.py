"""Small builders the end-to-end tests share."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any


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
