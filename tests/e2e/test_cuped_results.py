"""CUPED through the API against a reference on the raw per-entity outcomes.

Entities have events before their exposure (the covariate X: the 14 days before, and an
older one outside that window that must not count) and after it (the outcome Y). The
reference adjusts Y on the raw data, Y - theta (X - mean X) with theta pooled within arms,
runs scipy's Welch test on it, and checks that the adjusted difference is the treatment
coefficient of statsmodels' OLS of Y on T and X (Lin 2013). The Bayesian report's figures
are checked against the normal closed forms on the same lift.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from infra.launch.stack import Stack
from tests.e2e.helpers import make_experiment, make_feature, now, propagated

pytestmark = pytest.mark.e2e

ARMS = ("control", "treatment")


def put(evidently: Any, project: str, events: list[dict[str, Any]]) -> None:
    for k in range(0, len(events), 50):
        out = evidently.put_project_events(project=project, events=events[k : k + 50])
        assert out["failedEventCount"] == 0


def event(user: str, value: float, at: datetime) -> dict[str, Any]:
    return {
        "timestamp": at,
        "type": "aws.evidently.custom",
        "data": json.dumps({"user": user, "spend": value}),
    }


@pytest.fixture(scope="module")
def cuped_experiment(stack: Stack, evidently: Any) -> dict[str, Any]:
    project = f"cuped-{int(time.time() * 1000)}"
    evidently.create_project(name=project)
    make_feature(evidently, project, "f", *ARMS)
    make_experiment(
        evidently,
        project,
        metricGoals=[
            {
                "metricDefinition": {"name": "spend", "entityIdKey": "user", "valueKey": "spend"},
                "desiredChange": "INCREASE",
            }
        ],
    )
    httpx.patch(
        f"{stack.url('frontdoor')}/projects/{project}/experiments/e",
        json={"analysisConfig": {"method": "ttest", "confidenceLevel": 0.9}},
    ).raise_for_status()
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    propagated(stack)
    users = [f"u{i}" for i in range(120)]
    arm_of: dict[str, str] = {}
    for k in range(0, len(users), 20):
        out = evidently.batch_evaluate_feature(
            project=project, requests=[{"feature": "f", "entityId": u} for u in users[k : k + 20]]
        )
        for r in out["results"]:
            arm_of[r["entityId"]] = json.loads(r["details"])["treatment"]
    rng = np.random.default_rng(21)
    x = {u: float(np.round(rng.gamma(4.0, 5.0), 2)) for u in users}
    y = {
        u: float(
            np.round(0.8 * x[u] + rng.normal(5.0, 2.0) + (1.5 if arm_of[u] != "control" else 0), 2)
        )
        for u in users
    }
    moment = datetime.now(UTC)
    time.sleep(1.1)  # outcome events stamped (whole seconds) after every exposure
    events = []
    for u in users:
        events.append(event(u, x[u], moment - timedelta(days=3)))  # inside the 14-day window
        events.append(event(u, 1000.0, moment - timedelta(days=20)))  # outside it
        events.append(event(u, y[u], datetime.now(UTC)))
    put(evidently, project, events)
    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/e/aggregates"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        agg = httpx.get(url).json()["metrics"]["spend"]
        if all(
            agg[a]["n"] == sum(1 for u in users if arm_of[u] == a)
            and agg[a]["mean"] == pytest.approx(np.mean([y[u] for u in users if arm_of[u] == a]))
            and agg[a]["covariateMean"]
            == pytest.approx(np.mean([x[u] for u in users if arm_of[u] == a]))
            for a in ARMS
        ):
            break
        time.sleep(0.25)
    else:
        raise AssertionError("the aggregates never caught up")
    return {"project": project, "x": x, "y": y, "arm": arm_of}


def reference(data: dict[str, Any]) -> dict[str, Any]:
    """CUPED on the raw outcomes: theta pooled within arms, centred on the pooled mean of X."""
    arms = {a: [u for u in data["arm"] if data["arm"][u] == a] for a in ARMS}
    xs = {a: np.array([data["x"][u] for u in arms[a]]) for a in ARMS}
    ys = {a: np.array([data["y"][u] for u in arms[a]]) for a in ARMS}
    c_xy = sum(((xs[a] - xs[a].mean()) * (ys[a] - ys[a].mean())).sum() for a in ARMS)
    m2_x = sum(((xs[a] - xs[a].mean()) ** 2).sum() for a in ARMS)
    theta = c_xy / m2_x
    x_bar = np.concatenate([xs[a] for a in ARMS]).mean()
    adjusted = {a: ys[a] - theta * (xs[a] - x_bar) for a in ARMS}
    return {"theta": theta, "adjusted": adjusted, "raw": ys, "x": xs}


def test_cuped_matches_the_raw_data_reference_and_ols(
    stack: Stack, evidently: Any, cuped_experiment: dict[str, Any]
) -> None:
    project = cuped_experiment["project"]
    ref = reference(cuped_experiment)
    body = evidently.get_experiment_results(
        project=project,
        experiment="e",
        metricNames=["spend"],
        treatmentNames=list(ARMS),
        reportNames=["BayesianInference"],
        resultStats=["BaseStat", "TreatmentEffect", "ConfidenceInterval", "PValue"],
    )
    stat = {(r["treatmentName"], r["resultStat"]): r["values"][-1] for r in body["resultsData"]}
    control, treated = ref["adjusted"]["control"], ref["adjusted"]["treatment"]
    # Mean is the raw mean; the relative effect is the ratio of the adjusted means.
    assert stat[("treatment", "Mean")] == pytest.approx(ref["raw"]["treatment"].mean(), rel=1e-9)
    lift = treated.mean() / control.mean() - 1
    assert stat[("treatment", "TreatmentEffect")] == pytest.approx(lift, rel=1e-6)
    mt, mc = treated.mean(), control.mean()
    vt, vc = treated.var(ddof=1), control.var(ddof=1)
    nt, nc = len(treated), len(control)
    se = np.sqrt(vt / (mc**2 * nt) + mt**2 * vc / (mc**4 * nc))
    dof = stats.ttest_ind(treated, control, equal_var=False).df
    p = 2 * stats.t.sf(abs(lift / se), dof)
    assert stat[("treatment", "PValue")] == pytest.approx(p, rel=1e-6)
    half = stats.t.isf(0.05, dof) * se
    assert stat[("treatment", "ConfidenceIntervalLowerBound")] == pytest.approx(
        lift - half, rel=1e-6
    )
    # The adjusted difference is OLS's treatment coefficient (Lin 2013, no interaction).
    everyone = [(a, i) for a in ARMS for i in range(len(ref["raw"][a]))]
    y_all = np.array([ref["raw"][a][i] for a, i in everyone])
    x_all = np.array([ref["x"][a][i] for a, i in everyone])
    t_all = np.array([1.0 if a == "treatment" else 0.0 for a, _ in everyone])
    design = sm.add_constant(np.column_stack([t_all, x_all - x_all.mean()]))
    ols = sm.OLS(y_all, design).fit()
    assert treated.mean() - control.mean() == pytest.approx(ols.params[1], rel=1e-9)

    report = json.loads(body["reports"][0]["content"])
    assert report["cuped"]["theta"] == pytest.approx(ref["theta"], rel=1e-9)
    assert report["means"]["treatment"]["adjusted"] == pytest.approx(mt, rel=1e-9)
    assert report["means"]["control"]["mean"] == pytest.approx(ref["raw"]["control"].mean())
    # The flat-prior posterior of the lift and what Evidently's report reads from it.
    assert report["lift"]["mean"] == pytest.approx(lift, rel=1e-6)
    assert report["lift"]["sd"] == pytest.approx(se, rel=1e-6)
    assert report["chanceToBeatControl"] == pytest.approx(stats.norm.sf(0, lift, se), rel=1e-6)
    z = lift / se
    loss_keep = lift * stats.norm.cdf(z) + se * stats.norm.pdf(z)
    loss_ship = -lift * stats.norm.cdf(-z) + se * stats.norm.pdf(z)
    assert report["expectedLoss"]["keep"] == pytest.approx(loss_keep, rel=1e-6)
    assert report["expectedLoss"]["ship"] == pytest.approx(loss_ship, rel=1e-6, abs=1e-300)
    probabilities = report["probabilities"]
    assert probabilities["liftAtLeastPlus3Percent"] == pytest.approx(
        stats.norm.sf(0.03, lift, se), rel=1e-6
    )
    assert probabilities["liftAtMostMinus3Percent"] == pytest.approx(
        stats.norm.cdf(-0.03, lift, se), rel=1e-6, abs=1e-300
    )
    # The health check on the pre-exposure covariate: Welch on the raw covariates.
    balance = report["healthChecks"]["preExposureBalance"]
    reference_balance = stats.ttest_ind(ref["x"]["treatment"], ref["x"]["control"], equal_var=False)
    assert balance["pValue"] == pytest.approx(reference_balance.pvalue, rel=1e-6)
    assert balance["imbalanced"] is False and "alike" in balance["meaning"]
    assert report["lift"]["interval"] == pytest.approx(
        [lift - stats.norm.isf(0.05) * se, lift + stats.norm.isf(0.05) * se], rel=1e-6
    )


def test_turning_cuped_off_reports_the_raw_comparison(
    stack: Stack, evidently: Any, cuped_experiment: dict[str, Any]
) -> None:
    project = cuped_experiment["project"]
    ref = reference(cuped_experiment)
    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/e"
    httpx.patch(url, json={"analysisConfig": {"cuped": False}}).raise_for_status()
    propagated(stack, ("results",))
    try:
        body = evidently.get_experiment_results(
            project=project,
            experiment="e",
            metricNames=["spend"],
            treatmentNames=list(ARMS),
            resultStats=["TreatmentEffect", "PValue"],
        )
    finally:
        httpx.patch(url, json={"analysisConfig": {"cuped": True}}).raise_for_status()
        propagated(stack, ("results",))
    stat = {(r["treatmentName"], r["resultStat"]): r["values"][-1] for r in body["resultsData"]}
    raw_c, raw_t = ref["raw"]["control"], ref["raw"]["treatment"]
    assert stat[("treatment", "TreatmentEffect")] == pytest.approx(
        raw_t.mean() / raw_c.mean() - 1, rel=1e-9
    )
