"""One event end to end through all four services, driven by a stock boto3 client."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest

from tests.e2e.helpers import propagated

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

    evidently.create_experiment(
        project=project,
        name="checkout-test",
        treatments=[
            {"name": "old", "feature": "checkout", "variation": "old"},
            {"name": "new", "feature": "checkout", "variation": "new"},
        ],
        metricGoals=[
            {
                "metricDefinition": {
                    "name": "revenue",
                    "entityIdKey": "entityId",
                    "valueKey": "revenue",
                }
            }
        ],
        onlineAbConfig={
            "controlTreatmentName": "old",
            "treatmentWeights": {"old": 100000, "new": 0},
        },
    )
    evidently.start_experiment(
        project=project,
        experiment="checkout-test",
        analysisCompleteTime=datetime.now(UTC) + timedelta(days=1),
    )
    propagated(stack)
    values = [3.5, 1.0, 7.25, 2.0, 9.0]
    for i in range(len(values)):
        assigned = evidently.evaluate_feature(
            project=project, feature="checkout", entityId=f"user-{i}"
        )
        assert assigned["reason"] == "EXPERIMENT_RULE_MATCH"
    time.sleep(1.0)  # events stamped (in whole seconds) after the exposures
    response = evidently.put_project_events(
        project=project,
        events=[
            {
                "timestamp": datetime.now(UTC),
                "type": "aws.evidently.custom",
                "data": json.dumps({"entityId": f"user-{i}", "revenue": v}),
            }
            for i, v in enumerate(values)
        ],
    )
    assert response["failedEventCount"] == 0
    assert len(response["eventResults"]) == len(values)

    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/checkout-test/aggregates"
    deadline = time.monotonic() + 60
    aggregate = None
    while time.monotonic() < deadline:
        row = httpx.get(url).json()["metrics"]["revenue"]["old"]
        if row["n"] == len(values) and row["mean"] == pytest.approx(np.mean(values)):
            aggregate = row
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
