"""GetExperimentResults through boto3: series, reports and details, checked against scipy."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from infra.launch.stack import Stack
from tests.e2e.helpers import make_feature, now, propagated

pytestmark = pytest.mark.e2e

ARMS = ("control", "t1", "t2")
LIFT = {"control": 0.0, "t1": 3.0, "t2": 0.0}


def results(client: Any, project: str, **kwargs: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "project": project,
        "experiment": "e",
        "metricNames": ["revenue"],
        "treatmentNames": list(ARMS),
    }
    params.update(kwargs)
    return dict(client.get_experiment_results(**params))


def relative_welch(treated: np.ndarray, control: np.ndarray) -> tuple[float, float, float]:
    """gbstats' TTest on the relative scale from raw outcomes: (lift, se, two-sided p).

    The lift's delta-method variance, t = lift / se against Welch-Satterthwaite's dof."""
    mt, mc = treated.mean(), control.mean()
    vt, vc = treated.var(ddof=1), control.var(ddof=1)
    nt, nc = len(treated), len(control)
    lift = mt / mc - 1
    se = np.sqrt(vt / (mc**2 * nt) + mt**2 * vc / (mc**4 * nc))
    dof = (vt / nt + vc / nc) ** 2 / ((vt / nt) ** 2 / (nt - 1) + (vc / nc) ** 2 / (nc - 1))
    return float(lift), float(se), float(2 * stats.t.sf(abs(lift / se), dof))


def by_stat(body: dict[str, Any]) -> dict[tuple[str, str], list[float]]:
    return {(r["treatmentName"], r["resultStat"]): r["values"] for r in body["resultsData"]}


@pytest.fixture(scope="module")
def experiment(stack: Stack, evidently: Any) -> dict[str, Any]:
    """An A/B/n experiment with a true lift on t1, 40 entities per arm, each with revenue."""
    project = f"results-{int(time.time() * 1000)}"
    evidently.create_project(name=project)
    make_feature(evidently, project, "f", *ARMS)
    evidently.create_experiment(
        project=project,
        name="e",
        treatments=[{"name": a, "feature": "f", "variation": a} for a in ARMS],
        metricGoals=[
            {
                "metricDefinition": {
                    "name": "revenue",
                    "entityIdKey": "user",
                    "valueKey": "revenue",
                },
                "desiredChange": "INCREASE",
            }
        ],
        onlineAbConfig={
            "controlTreatmentName": "control",
            "treatmentWeights": {"control": 33334, "t1": 33333, "t2": 33333},
        },
    )
    httpx.patch(
        f"{stack.url('frontdoor')}/projects/{project}/experiments/e",
        json={"analysisConfig": {"method": "ttest", "confidenceLevel": 0.9}},
    ).raise_for_status()
    not_started = results(evidently, project)
    assert not_started["details"] == "Not enough events to generate results"
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    started = time.time()
    propagated(stack)
    arms: dict[str, list[str]] = {a: [] for a in ARMS}
    i = 0
    while min(len(v) for v in arms.values()) < 40:
        batch = [f"u{i + k}" for k in range(20)]
        i += 20
        for r in evidently.batch_evaluate_feature(
            project=project, requests=[{"feature": "f", "entityId": e} for e in batch]
        )["results"]:
            arms[json.loads(r["details"])["treatment"]].append(r["entityId"])
    early = results(evidently, project)
    assert early["details"] == "Not enough events to generate results" or early["timestamps"]
    time.sleep(1.1)  # events stamped (whole seconds) after every exposure
    rng = np.random.default_rng(11)
    values: dict[str, dict[str, float]] = {a: {} for a in ARMS}
    events = []
    for arm, entities in arms.items():
        for entity in entities:
            v = float(np.round(rng.normal(20 + LIFT[arm], 4), 3))
            values[arm][entity] = v
            events.append(
                {
                    "timestamp": datetime.now(UTC),
                    "type": "aws.evidently.custom",
                    "data": json.dumps({"user": entity, "revenue": v}),
                }
            )
    for k in range(0, len(events), 50):
        assert (
            evidently.put_project_events(project=project, events=events[k : k + 50])[
                "failedEventCount"
            ]
            == 0
        )
    total = sum(len(v) for v in arms.values())
    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/e/aggregates"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        agg = httpx.get(url).json()["metrics"]["revenue"]
        if sum(agg[a]["n"] for a in ARMS) == total and all(
            agg[a]["mean"] == pytest.approx(np.mean(list(values[a].values()))) for a in ARMS
        ):
            break
        time.sleep(0.25)
    else:
        raise AssertionError("the aggregates never caught up")
    return {"project": project, "values": values, "started": started}


def test_results_match_scipy_and_statsmodels(evidently: Any, experiment: dict[str, Any]) -> None:
    project, values = experiment["project"], experiment["values"]
    body = results(
        evidently,
        project,
        period=300,
        reportNames=["BayesianInference"],
        resultStats=["BaseStat", "TreatmentEffect", "ConfidenceInterval", "PValue"],
    )
    assert "details" not in body
    assert len(body["timestamps"]) == 1
    stat = by_stat(body)
    control = np.array(list(values["control"].values()))
    raw = []
    for arm in ("t1", "t2"):
        treated = np.array(list(values[arm].values()))
        assert stat[(arm, "Mean")][-1] == pytest.approx(treated.mean(), rel=1e-9)
        lift, se, p = relative_welch(treated, control)
        assert stat[(arm, "TreatmentEffect")][-1] == pytest.approx(lift, rel=1e-9)
        dof_t = stats.ttest_ind(treated, control, equal_var=False).df
        half = stats.t.isf(0.05, dof_t) * se  # confidence 0.9
        low, high = (
            stat[(arm, "ConfidenceIntervalLowerBound")][-1],
            stat[(arm, "ConfidenceIntervalUpperBound")][-1],
        )
        assert low == pytest.approx(lift - half, rel=1e-6)
        assert high == pytest.approx(lift + half, rel=1e-6)
        raw.append(p)
    assert stat[("control", "Mean")][-1] == pytest.approx(control.mean(), rel=1e-9)
    assert ("control", "PValue") not in stat
    adjusted = multipletests(raw, method="holm")[1]
    assert stat[("t1", "PValue")][-1] == pytest.approx(adjusted[0], rel=1e-9)
    assert stat[("t2", "PValue")][-1] == pytest.approx(adjusted[1], rel=1e-9)
    assert stat[("t1", "PValue")][-1] < 0.01

    reports = {r["treatmentName"]: json.loads(r["content"]) for r in body["reports"]}
    assert set(reports) == {"t1", "t2"}
    # Amplitude's badges from the same adjusted p-value (confidence 0.9 here).
    t1_badges = reports["t1"]["summary"]["badges"]
    assert t1_badges == (
        ["Significant", "Above Control"]
        if adjusted[0] < 0.1
        else ["Not Significant", "Inconclusive"]
    )
    assert reports["t1"]["summary"]["desiredDirection"] is (True if adjusted[0] < 0.1 else None)
    assert reports["t1"]["chanceToBeatControl"] > 0.95
    assert reports["t1"]["verdict"] == "Better"
    probabilities = reports["t2"]["probabilities"]
    assert sum(probabilities.values()) == pytest.approx(1.0)
    assert reports["t1"]["expectedLoss"]["ship"] < reports["t1"]["expectedLoss"]["keep"]


def test_sequential_is_the_default_and_more_conservative(
    stack: Stack, evidently: Any, experiment: dict[str, Any]
) -> None:
    project = experiment["project"]
    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/e"
    fixed = by_stat(results(evidently, project))[("t1", "PValue")][-1]
    httpx.patch(url, json={"analysisConfig": {"method": "sequential"}}).raise_for_status()
    propagated(stack, ("results",))
    try:
        sequential = by_stat(results(evidently, project))[("t1", "PValue")][-1]
    finally:
        httpx.patch(url, json={"analysisConfig": {"method": "ttest"}}).raise_for_status()
        propagated(stack, ("results",))
    assert fixed < sequential <= 1.0


def test_a_series_with_one_point_per_period(
    stack: Stack, unvalidated: Any, experiment: dict[str, Any]
) -> None:
    """GetExperimentResults takes periods of 300 s to 90000 s (the model's ResultsPeriod);
    the analysis endpoint takes any multiple of the bucket, for fine series."""
    time.sleep(max(0.0, experiment["started"] + 6.5 - time.time()))  # three 2 s periods
    url = f"{stack.url('frontdoor')}/projects/{experiment['project']}/experiments/e/analysis"
    body = httpx.get(url, params={"period": 2}).json()
    assert len(body["timestamps"]) >= 2
    t1 = next(c for c in body["comparisons"] if c["treatment"] == "t1")
    assert len(t1["series"]) == len(body["timestamps"])
    assert t1["control"]["mean"] == pytest.approx(
        np.mean(list(experiment["values"]["control"].values())), rel=1e-9
    )
    with pytest.raises(unvalidated.exceptions.ValidationException, match="period"):
        results(unvalidated, experiment["project"], period=2)


def test_results_errors(evidently: Any, unvalidated: Any, experiment: dict[str, Any]) -> None:
    project = experiment["project"]
    with pytest.raises(evidently.exceptions.ValidationException, match="metricNames"):
        results(evidently, project, metricNames=["nope"])
    with pytest.raises(evidently.exceptions.ValidationException, match="treatmentNames"):
        results(evidently, project, treatmentNames=["ghost"])
    with pytest.raises(unvalidated.exceptions.ValidationException, match="period"):
        results(unvalidated, project, period=3)
    with pytest.raises(evidently.exceptions.ResourceNotFoundException):
        results(evidently, project, experiment="ghost")


def test_full_analysis_endpoint(stack: Stack, experiment: dict[str, Any]) -> None:
    url = f"{stack.url('frontdoor')}/projects/{experiment['project']}/experiments/e/analysis"
    body = httpx.get(url, params={"mde": 0.05, "dailyEntities": 1000}).json()
    t1 = next(c for c in body["comparisons"] if c["treatment"] == "t1")
    assert t1["adjustedPValue"] >= t1["pValue"]
    assert t1["power"]["minimumDetectableEffect"] > 0
    assert t1["projection"]["nPerArm"] > 0 and t1["projection"]["days"] >= 1
    assert body["sampleRatioMismatch"]["pValue"] > 0.001
    before = httpx.get(url, params={"asOf": time.time() - 3600}).json()
    assert before.get("details") == "Not enough events to generate results"


def test_one_correction_family_for_every_endpoint(stack: Stack, evidently: Any) -> None:
    """Holm corrects over treatments x metric goals, in GetExperimentResults as in
    /analysis: the PValue reported for a metric is the analysis' adjusted p-value."""
    project = f"family-{int(time.time() * 1000)}"
    evidently.create_project(name=project)
    make_feature(evidently, project, "f", *ARMS)
    goals = [
        {
            "metricDefinition": {"name": name, "entityIdKey": "user", "valueKey": name},
            "desiredChange": "INCREASE",
        }
        for name in ("revenue", "clicks")
    ]
    evidently.create_experiment(
        project=project,
        name="e",
        treatments=[{"name": a, "feature": "f", "variation": a} for a in ARMS],
        metricGoals=goals,
        onlineAbConfig={
            "controlTreatmentName": "control",
            "treatmentWeights": {"control": 33334, "t1": 33333, "t2": 33333},
        },
    )
    httpx.patch(
        f"{stack.url('frontdoor')}/projects/{project}/experiments/e",
        json={"analysisConfig": {"method": "ttest", "correction": "holm"}},
    ).raise_for_status()
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    propagated(stack)
    entities = [f"u{i}" for i in range(90)]
    for k in range(0, len(entities), 20):
        evidently.batch_evaluate_feature(
            project=project,
            requests=[{"feature": "f", "entityId": e} for e in entities[k : k + 20]],
        )
    time.sleep(1.1)  # events stamped (whole seconds) after every exposure
    rng = np.random.default_rng(5)
    events = [
        {
            "timestamp": datetime.now(UTC),
            "type": "aws.evidently.custom",
            "data": json.dumps(
                {"user": e, "revenue": float(rng.normal(20, 4)), "clicks": float(rng.poisson(3))}
            ),
        }
        for e in entities
    ]
    for k in range(0, len(events), 50):
        out = evidently.put_project_events(project=project, events=events[k : k + 50])
        assert out["failedEventCount"] == 0
    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/e"
    deadline = time.monotonic() + 60
    analysis: dict[str, Any] = {}
    while time.monotonic() < deadline:
        cells = httpx.get(f"{url}/aggregates").json()["metrics"]
        complete = all(
            sum(cells[m][a]["n"] for a in ARMS) == len(entities)
            and sum(cells[m][a]["mean"] * cells[m][a]["n"] for a in ARMS) > 0
            for m in cells
        )
        analysis = httpx.get(f"{url}/analysis").json()
        if complete and "comparisons" in analysis:
            break
        time.sleep(0.25)
    else:
        raise AssertionError(f"no analysis of the complete aggregates: {analysis}")
    adjusted = {(c["metric"], c["treatment"]): c["adjustedPValue"] for c in analysis["comparisons"]}
    assert len(adjusted) == 4  # 2 treatments x 2 metrics: one family
    for metric in ("revenue", "clicks"):
        body = results(evidently, project, metricNames=[metric], resultStats=["PValue"])
        stat = by_stat(body)
        for arm in ("t1", "t2"):
            assert stat[(arm, "PValue")][-1] == pytest.approx(adjusted[(metric, arm)], rel=1e-12)


def with_analysis(stack: Stack, project: str, config: dict[str, Any]) -> Any:
    """A context in which the experiment's analysisConfig has ``config`` set, restored after."""
    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/e"

    @contextlib.contextmanager
    def applied() -> Any:
        httpx.patch(url, json={"analysisConfig": config}).raise_for_status()
        propagated(stack, ("results",))
        try:
            yield
        finally:
            restore = {"method": "ttest", "confidenceLevel": 0.9, "effect": "relative"}
            restore |= {"oneSided": False, "cuped": True, "prior": "flat"}
            httpx.patch(url, json={"analysisConfig": restore}).raise_for_status()
            propagated(stack, ("results",))

    return applied()


def test_the_absolute_switch_reports_one_hypothesis_on_the_absolute_scale(
    stack: Stack, evidently: Any, experiment: dict[str, Any]
) -> None:
    """effect: absolute: TreatmentEffect, its interval and PValue all test mean_t - mean_c,
    as scipy's Welch test does; Holm over the same family."""
    project, values = experiment["project"], experiment["values"]
    control = np.array(list(values["control"].values()))
    with with_analysis(stack, project, {"effect": "absolute"}):
        stat = by_stat(results(evidently, project))
    raw = []
    for arm in ("t1", "t2"):
        treated = np.array(list(values[arm].values()))
        test = stats.ttest_ind(treated, control, equal_var=False)
        interval = test.confidence_interval(0.9)
        assert stat[(arm, "TreatmentEffect")][-1] == pytest.approx(
            treated.mean() - control.mean(), rel=1e-9
        )
        assert stat[(arm, "ConfidenceIntervalLowerBound")][-1] == pytest.approx(
            interval.low, rel=1e-6
        )
        assert stat[(arm, "ConfidenceIntervalUpperBound")][-1] == pytest.approx(
            interval.high, rel=1e-6
        )
        raw.append(test.pvalue)
    adjusted = multipletests(raw, method="holm")[1]
    assert [stat[(a, "PValue")][-1] for a in ("t1", "t2")] == pytest.approx(adjusted, rel=1e-6)


def test_a_proper_prior_is_one_switch_and_the_report_names_it(
    stack: Stack, evidently: Any, experiment: dict[str, Any]
) -> None:
    """prior: proper is Normal(0, 0.3^2) on the lift (GrowthBook's): the posterior is the
    precision-weighted mean of the prior and the lift's normal likelihood."""
    project, values = experiment["project"], experiment["values"]
    control = np.array(list(values["control"].values()))
    treated = np.array(list(values["t1"].values()))
    lift, se, _ = relative_welch(treated, control)
    flat = json.loads(
        results(evidently, project, reportNames=["BayesianInference"])["reports"][0]["content"]
    )
    assert flat["prior"] == {"kind": "flat"}
    assert flat["lift"]["mean"] == pytest.approx(lift, rel=1e-9)
    with with_analysis(stack, project, {"prior": "proper"}):
        body = results(evidently, project, reportNames=["BayesianInference"])
    report = next(json.loads(r["content"]) for r in body["reports"] if r["treatmentName"] == "t1")
    assert report["prior"] == {"kind": "proper", "mean": 0.0, "variance": 0.09}
    v1 = 1 / (1 / 0.09 + 1 / se**2)
    assert report["lift"]["mean"] == pytest.approx(v1 * lift / se**2, rel=1e-6)
    assert report["lift"]["sd"] == pytest.approx(np.sqrt(v1), rel=1e-6)
    assert report["chanceToBeatControl"] == pytest.approx(
        stats.norm.sf(0, v1 * lift / se**2, np.sqrt(v1)), rel=1e-6
    )


def test_one_sided_sequential_is_tested_not_ignored(
    stack: Stack, evidently: Any, experiment: dict[str, Any]
) -> None:
    """oneSided under the sequential method is the one-sided mixture test: its interval is
    bounded on the desired side only, and its p-value is below the two-sided one."""
    project = experiment["project"]
    with with_analysis(stack, project, {"method": "sequential"}):
        two = by_stat(results(evidently, project))
    with with_analysis(stack, project, {"method": "sequential", "oneSided": True}):
        one = by_stat(results(evidently, project))
    big = 1.7976931348623157e308
    assert one[("t1", "ConfidenceIntervalUpperBound")][-1] == big
    assert two[("t1", "ConfidenceIntervalUpperBound")][-1] < big
    assert (
        one[("t1", "ConfidenceIntervalLowerBound")][-1]
        > two[("t1", "ConfidenceIntervalLowerBound")][-1]
    )
    assert one[("t1", "PValue")][-1] < two[("t1", "PValue")][-1]


def test_power_is_computed_for_the_method_in_use(stack: Stack, experiment: dict[str, Any]) -> None:
    """The mSPRT needs more entities than the t-test for the same effect: its MDE at the
    current n and its projected sample are larger."""
    project = experiment["project"]
    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/e/analysis"
    params = {"mde": 0.05, "dailyEntities": 1000}
    fixed = next(c for c in httpx.get(url, params=params).json()["comparisons"])
    with with_analysis(stack, project, {"method": "sequential"}):
        sequential = next(c for c in httpx.get(url, params=params).json()["comparisons"])
    assert fixed["power"]["method"] == "ttest" and sequential["power"]["method"] == "sequential"
    assert (
        sequential["power"]["minimumDetectableEffect"] > fixed["power"]["minimumDetectableEffect"]
    )
    assert sequential["projection"]["nPerArm"] > fixed["projection"]["nPerArm"]


def test_cuped_can_be_turned_off_and_its_window_is_frozen_while_running(
    stack: Stack, unvalidated: Any, experiment: dict[str, Any]
) -> None:
    project = experiment["project"]
    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/e"
    with with_analysis(stack, project, {"cuped": False}):
        body = httpx.get(f"{url}/analysis").json()
    t1 = next(c for c in body["comparisons"] if c["treatment"] == "t1")
    assert t1["cuped"]["enabled"] is False and t1["cuped"]["theta"] is None
    assert t1["means"]["treatment"]["adjusted"] == t1["means"]["treatment"]["mean"]
    assert t1["cuped"]["windowDays"] == 14
    response = httpx.patch(url, json={"analysisConfig": {"cupedWindowDays": 7}})
    assert response.status_code == 409 and "cupedWindowDays" in response.text
    bad = httpx.patch(url, json={"analysisConfig": {"cupedWindowDays": 0}})
    assert bad.status_code == 400 and "cupedWindowDays" in bad.text
