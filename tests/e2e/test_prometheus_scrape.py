"""A real Prometheus (Debian's package) scrapes the running stack under a short load;
every query of the provisioned Grafana dashboard must return data."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.launch.ports import free_port, wait_for_port
from infra.launch.stack import Stack
from tests.e2e.helpers import make_experiment, make_feature, now, propagated

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS = shutil.which("prometheus")


def scrape_config(stack: Stack) -> str:
    jobs = []
    for name in ("command", "evaluation", "results", "processor"):
        target = stack.url(name).removeprefix("http://")
        jobs.append(
            f"  - job_name: verdict-{name}\n    static_configs: [{{targets: ['{target}']}}]"
        )
    return (
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n"
        + "\n".join(jobs)
        + "\n"
    )


@pytest.fixture
def prometheus(stack: Stack, tmp_path: Path):  # type: ignore[no-untyped-def]
    if PROMETHEUS is None:
        pytest.skip("the prometheus binary is not installed (.ci/run installs Debian's package)")
    config = tmp_path / "prometheus.yml"
    config.write_text(scrape_config(stack))
    port = free_port()
    with open(tmp_path / "prometheus.log", "wb") as log:
        process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        assert wait_for_port(port, 30), "prometheus did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def query(base: str, expr: str) -> list[dict[str, Any]]:
    body = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def load(stack: Stack, evidently: Any, unvalidated: Any, unique: str) -> None:
    project = f"prom-{unique}"
    evidently.create_project(name=project)
    make_feature(evidently, project)
    make_experiment(
        evidently,
        project,
        "e",
        metricGoals=[
            {"metricDefinition": {"name": "revenue", "entityIdKey": "u", "valueKey": "v"}}
        ],
    )
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    propagated(stack)
    for i in range(30):
        evidently.evaluate_feature(project=project, feature="f", entityId=f"u{i}")
    unvalidated.put_project_events(
        project=project,
        events=[
            {
                "timestamp": now(),
                "type": "aws.evidently.custom",
                "data": json.dumps({"u": f"u{i}", "v": i}),
            }
            for i in range(30)
        ]
        + [{"timestamp": now(), "type": "aws.evidently.custom", "data": "not json"}],
    )
    evidently.get_experiment_results(
        project=project,
        experiment="e",
        metricNames=["revenue"],
        treatmentNames=["control", "treatment"],
    )
    evidently.update_feature(project=project, feature="f", description="touched")


def test_every_dashboard_query_returns_data(
    prometheus: str, stack: Stack, evidently: Any, unvalidated: Any, unique: str
) -> None:
    dashboard = json.loads((REPO / "infra" / "grafana" / "dashboards" / "verdict.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(query(prometheus, "up == 1")) < 4:
        time.sleep(0.5)
    assert len(query(prometheus, "up == 1")) == 4, query(prometheus, "up")
    # Two rounds of load a few scrapes apart, so every rate() has two samples to compare.
    load(stack, evidently, unvalidated, unique)
    time.sleep(3)
    load(stack, evidently, unvalidated, unique + "b")
    empty: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        empty = [e for e in exprs if not query(prometheus, e)]
        if not empty:
            break
        time.sleep(1)
    assert not empty, f"dashboard queries without data: {empty}"
