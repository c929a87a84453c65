"""One event end to end through all four services, driven by a stock boto3 client."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import httpx
import numpy as np
import pytest

pytestmark = pytest.mark.e2e


def test_create_evaluate_ingest_aggregate(evidently, stack, unique):  # type: ignore[no-untyped-def]
    project = f"skeleton-{unique}"
    created = evidently.create_project(name=project, description="walking skeleton")["project"]
    assert created["name"] == project
    assert created["arn"] == f"arn:aws:evidently:us-east-1:000000000000:project/{project}"

    evidently.create_feature(
        project=project,
        name="checkout",
        variations=[
            {"name": "old", "value": {"stringValue": "classic"}},
            {"name": "new", "value": {"stringValue": "one-page"}},
        ],
        defaultVariation="old",
    )
    feature = evidently.get_feature(project=project, feature="checkout")["feature"]
    assert feature["defaultVariation"] == "old"
    assert feature["valueType"] == "STRING"
    assert evidently.get_project(project=project)["project"]["featureCount"] == 1

    evaluation = evidently.evaluate_feature(project=project, feature="checkout", entityId="user-1")
    assert evaluation["variation"] == "old"
    assert evaluation["value"] == {"stringValue": "classic"}
    assert evaluation["reason"] == "DEFAULT"

    values = [3.5, 1.0, 7.25, 2.0, 9.0]
    now = datetime.now(UTC)
    response = evidently.put_project_events(
        project=project,
        events=[
            {
                "timestamp": now,
                "type": "aws.evidently.custom",
                "data": json.dumps({"entityId": f"user-{i}", "revenue": v}),
            }
            for i, v in enumerate(values)
        ],
    )
    assert response["failedEventCount"] == 0
    assert len(response["eventResults"]) == len(values)

    deadline = time.monotonic() + 60
    aggregate = None
    while time.monotonic() < deadline:
        body = httpx.get(f"{stack.url('frontdoor')}/projects/{project}/event-aggregates").json()
        rows = {a["metric"]: a for a in body["aggregates"]}
        if rows.get("revenue", {}).get("count") == len(values):
            aggregate = rows["revenue"]
            break
        time.sleep(0.2)
    assert aggregate is not None, "the aggregate never reached the results service"
    assert aggregate["mean"] == pytest.approx(np.mean(values), rel=1e-12)
    assert aggregate["variance"] == pytest.approx(np.var(values, ddof=1), rel=1e-12)


def test_errors_use_the_aws_shape(evidently, unique):  # type: ignore[no-untyped-def]
    with pytest.raises(evidently.exceptions.ResourceNotFoundException) as missing:
        evidently.get_feature(project=f"nowhere-{unique}", feature="x")
    assert "nowhere" in str(missing.value)
    with pytest.raises(evidently.exceptions.ValidationException) as invalid:
        evidently.create_project(name="spaces are not allowed")
    assert "'name'" in str(invalid.value)
    evidently.create_project(name=f"twice-{unique}")
    with pytest.raises(evidently.exceptions.ConflictException):
        evidently.create_project(name=f"twice-{unique}")
