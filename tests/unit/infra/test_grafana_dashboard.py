"""The provisioned Grafana dashboard, checked against Grafana's dashboard model as far as
Python can tell: required fields, panel layout, datasources that the provisioning defines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[3]
GRAFANA = REPO / "infra" / "grafana"
PANEL_TYPES = {"timeseries", "stat", "gauge", "table", "bargauge", "heatmap", "text"}


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((GRAFANA / "dashboards" / "verdict.json").read_text())
    return loaded


def test_dashboard_has_grafanas_required_fields() -> None:
    d = dashboard()
    for key, kind in [
        ("uid", str),
        ("title", str),
        ("schemaVersion", int),
        ("panels", list),
        ("time", dict),
        ("templating", dict),
        ("annotations", dict),
    ]:
        assert isinstance(d[key], kind), key
    assert d["schemaVersion"] >= 36
    assert set(d["time"]) == {"from", "to"}


def test_panels_are_well_formed_and_do_not_overlap() -> None:
    panels = dashboard()["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    cells: set[tuple[int, int]] = set()
    for p in panels:
        assert p["type"] in PANEL_TYPES
        assert p["title"]
        g = p["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24 and g["h"] > 0 and g["y"] >= 0
        area = {
            (x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])
        }
        assert not (cells & area), f"panel {p['title']} overlaps another"
        cells |= area
        assert p["targets"] and all(t["expr"] and t["refId"] for t in p["targets"])


def test_datasource_matches_the_provisioning() -> None:
    provisioned = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )
    uids = {d["uid"] for d in provisioned["datasources"]}
    for p in dashboard()["panels"]:
        assert p["datasource"]["uid"] in uids
        for t in p["targets"]:
            assert t["datasource"]["uid"] in uids
    providers = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "verdict.yml").read_text()
    )
    assert providers["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_the_dashboard_covers_the_operators_questions() -> None:
    exprs = " ".join(t["expr"] for p in dashboard()["panels"] for t in p["targets"])
    for metric in (
        "verdict_http_request_duration_seconds_bucket",
        "verdict_evaluations_total",
        "verdict_events_ingested_total",
        "verdict_events_rejected_total",
        "verdict_processor_consumer_lag_messages",
        "verdict_processor_records_total",
        "verdict_processor_aggregate_cells",
        "verdict_results_computation_seconds_bucket",
        "verdict_eventstore_append_duration_seconds_bucket",
        "verdict_projection_lag_events",
    ):
        assert metric in exprs, metric
