"""Every metric type, the exposure event, windows, caps and the exposure health checks,
end to end: experiments created with Verdict's members (raw HTTP: boto3 never sends them),
entities evaluated with boto3, events sent with PutProjectEvents, and /analysis checked
against references computed on the raw per-entity data: scipy's Welch test, statsmodels'
two-proportion Wald test, the delta method (with a seeded bootstrap of its standard error),
and numpy's winsorization at the reported cap.

Four experiments on four features of one project (Evidently allows three goals each):
- e1, with an exposure event: revenue (SUM, primary, a goal), buyers (UNIQUE_CONVERSIONS),
  basket (AVERAGE);
- e2: rev (SUM), buys (COUNT, guardrail), per_buy (FORMULA, rev / buys);
- e3: checkout (FUNNEL view -> cart -> buy within 60 s), back (RETENTION on day 0),
  whales (SUM, capped at its 90th percentile);
- e4, not sticky, its weights changed mid-run: early (SUM within 60 s, capped at 30),
  buys4 (COUNT), net (FORMULA, early - buys4);
- e5: refunded (UNIQUE_CONVERSIONS, two entities ever convert: its minimum-data gate holds its
  figures back) beside rev5 (SUM, past its gate).

Results are as of now: an event stamped in the future counts from its own bucket on. So every
event here lies within 70 s of the exposures and the test waits for them to pass; windows are
the shortest allowed (60 s), and retention on day N > 0 is checked in the unit tests
(tests/unit/shared/domain/test_metric_types.py), where time is the test's to choose.
"""

from __future__ import annotations

import json
import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest
from scipy import stats
from statsmodels.stats import proportion

from infra.launch.stack import Stack
from tests.e2e.helpers import make_feature, now, propagated

pytestmark = pytest.mark.e2e

ARMS = ("control", "treatment")
USERS = [f"u{i:03d}" for i in range(160)]
DAY = 86_400


def kind(name: str) -> str:
    return json.dumps({"kind": [name]})


def goal(name: str, metric_type: str, event: str | None, **members: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {"name": name, "entityIdKey": "user", "valueKey": "amount"}
    if event is not None:
        definition["eventPattern"] = kind(event)
    return {
        "metricDefinition": definition,
        "desiredChange": "INCREASE",
        "metricType": metric_type,
        **members,
    }


EXPERIMENTS: dict[str, dict[str, Any]] = {
    "e1": {
        "metricGoals": [
            goal("revenue", "SUM", "buy", goal=5.0),
            goal("buyers", "UNIQUE_CONVERSIONS", "buy"),
            goal("basket", "AVERAGE", "buy"),
        ],
        "exposureEvent": {"eventPattern": kind("page"), "entityIdKey": "user"},
    },
    "e2": {
        "metricGoals": [
            goal("rev", "SUM", "buy"),
            goal("buys", "COUNT", "buy", role="GUARDRAIL"),
            goal(
                "per_buy",
                "FORMULA",
                None,
                formula={"operator": "RATIO", "numerator": "rev", "denominator": "buys"},
            ),
        ]
    },
    "e3": {
        "metricGoals": [
            goal(
                "checkout",
                "FUNNEL",
                "view",
                funnelSteps=[kind("cart"), kind("buy")],
                conversionWindowSeconds=60,
            ),
            goal("back", "RETENTION", "view", retentionDay=0),
            goal("whales", "SUM", "buy", cap={"kind": "PERCENTILE", "value": 90.0}),
        ]
    },
    "e4": {
        "metricGoals": [
            goal(
                "early",
                "SUM",
                "buy",
                conversionWindowSeconds=60,
                cap={"kind": "ABSOLUTE", "value": 30.0},
            ),
            goal("buys4", "COUNT", "buy"),
            goal(
                "net",
                "FORMULA",
                None,
                formula={"operator": "DIFFERENCE", "numerator": "early", "denominator": "buys4"},
            ),
        ],
        "stickyAssignment": False,
    },
    "e5": {
        "metricGoals": [
            goal("refunded", "UNIQUE_CONVERSIONS", "refund"),
            goal("rev5", "SUM", "buy"),
        ]
    },
}
FEATURE = {"e1": "f1", "e2": "f2", "e3": "f3", "e4": "f4", "e5": "f5"}


def event(user: str, what: str, at: float, amount: float = 0.0) -> dict[str, Any]:
    return {
        "timestamp": datetime.fromtimestamp(at, UTC),
        "type": "aws.evidently.custom",
        "data": json.dumps({"user": user, "kind": what, "amount": amount}),
    }


def assign(evidently: Any, project: str, feature: str, users: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for k in range(0, len(users), 20):
        answer = evidently.batch_evaluate_feature(
            project=project,
            requests=[{"feature": feature, "entityId": u} for u in users[k : k + 20]],
        )
        for r in answer["results"]:
            out[r["entityId"]] = json.loads(r["details"])["treatment"]
    return out


@pytest.fixture(scope="module")
def world(stack: Stack, evidently: Any) -> dict[str, Any]:
    project = f"types-{int(time.time() * 1000)}"
    evidently.create_project(name=project)
    base = f"{stack.url('frontdoor')}/projects/{project}/experiments"
    for name, members in EXPERIMENTS.items():
        make_feature(evidently, project, FEATURE[name], *ARMS)
        body = {
            "name": name,
            "treatments": [{"name": a, "feature": FEATURE[name], "variation": a} for a in ARMS],
            "onlineAbConfig": {
                "controlTreatmentName": "control",
                "treatmentWeights": {"control": 50_000, "treatment": 50_000},
            },
            **members,
        }
        response = httpx.post(base, json=body)
        assert response.status_code == 200, response.text
        patched = httpx.patch(
            f"{base}/{name}", json={"analysisConfig": {"method": "ttest", "cuped": False}}
        )
        assert patched.status_code == 200, patched.text
        evidently.start_experiment(
            project=project, experiment=name, analysisCompleteTime=now() + timedelta(days=1)
        )
    propagated(stack, ("evaluation", "results"))
    time.sleep(1.0)  # the processor follows the same feed
    rng = np.random.default_rng(18)
    began = time.time()
    arm = {name: assign(evidently, project, FEATURE[name], USERS) for name in EXPERIMENTS}
    # e4 is not sticky: with all weight on treatment, a re-evaluation moves some entities.
    evidently.update_experiment(
        project=project,
        experiment="e4",
        onlineAbConfig={"treatmentWeights": {"control": 0, "treatment": 100_000}},
    )
    propagated(stack)
    crossed_users = [u for u in USERS[:40] if arm["e4"][u] == "control"]
    again = assign(evidently, project, "f4", USERS[:40])
    assert all(again[u] == "treatment" for u in crossed_users)
    assigned_by = time.time()
    time.sleep(1.5)  # outcome events stamped (whole seconds) after every assignment
    t = math.ceil(assigned_by) + 1  # every assignment lies in [began, t - 1)
    # Events at t + 20 must fall inside the 60 s windows of the earliest assignment, and
    # those at t + 62 on outside those of the latest.
    assert t - began < 35, "assignments took too long for the windows' margins"
    events: list[dict[str, Any]] = []
    truth: dict[str, list[tuple[float, str, float]]] = {u: [] for u in USERS}

    def add(user: str, what: str, at: float, amount: float = 0.0) -> None:
        truth[user].append((at, what, amount))
        events.append(event(user, what, at, amount))

    for i, u in enumerate(USERS):
        lift = 1.5 if arm["e1"][u] == "treatment" else 0.0
        if i % 4 != 0:
            add(u, "page", t)  # exposes in e1; a quarter of the entities never see the page
        else:
            add(u, "page", began - 600)  # before its assignment: not an exposure
        for k in range(int(rng.poisson(1.6))):
            add(u, "buy", t + 10 + k, float(np.round(rng.gamma(2.0, 3.0) + lift, 2)))
        if rng.random() < 0.3:  # past the 60 s windows
            add(u, "buy", t + 65, float(np.round(rng.gamma(2.0, 3.0), 2)))
        if rng.random() < 0.08:  # a whale
            add(u, "buy", t + 20, float(np.round(rng.uniform(200, 900), 2)))
        if rng.random() < 0.7:
            add(u, "view", t + 5)
            if rng.random() < 0.6:
                add(u, "cart", t + 6)
        if u in ("u001", "u002"):
            add(u, "refund", t + 12)
        if rng.random() < 0.2:
            add(u, "view", t + 62)  # day 0, but a funnel past its window
            add(u, "cart", t + 63)
            add(u, "buy", t + 64, 1.0)
    for k in range(0, len(events), 50):
        out = evidently.put_project_events(project=project, events=events[k : k + 50])
        assert out["failedEventCount"] == 0, out
    while time.time() < t + 70:  # every event's bucket has begun: results are as of now
        time.sleep(0.5)
    return {
        "project": project,
        "arm": arm,
        "truth": truth,
        "exposed_at": {u: float(t) if i % 4 != 0 else None for i, u in enumerate(USERS)},
        "assigned_at": assigned_by,
        "crossed": crossed_users,
        "n_events": len(events),
    }


def numbers(world: dict[str, Any], name: str, user: str) -> dict[str, Any]:
    """The brute-force number of every metric of experiment ``name`` for one entity."""
    evs = world["truth"][user]
    if name == "e1":
        exposed = world["exposed_at"][user]
        if exposed is None:
            return {}
    else:
        exposed = world["assigned_at"]  # every later event is after the exposure
    after = [(at, what, amount) for at, what, amount in evs if at >= exposed]
    buys = [amount for _, what, amount in after if what == "buy"]
    out: dict[str, Any] = {
        "revenue": sum(buys),
        "buyers": float(bool(buys)),
        "basket": (sum(buys), float(len(buys))),
        "rev": sum(buys),
        "buys": float(len(buys)),
        "per_buy": (sum(buys), float(len(buys))),
        "whales": sum(buys),
        "buys4": float(len(buys)),
        "rev5": sum(buys),
        "refunded": float(any(what == "refund" for _, what, _ in after)),
    }
    within = [amount for at, what, amount in after if what == "buy" and at - exposed < 60]
    out["early"] = min(sum(within), 30.0)
    out["early_raw"] = sum(within)
    out["net"] = out["early"] - out["buys4"]
    out["back"] = float(any(what == "view" and 0 <= at - exposed < DAY for at, what, _ in after))
    # View, then cart, then buy, each at or after the step before, within 60 s.
    done = 0.0
    views = sorted(at for at, what, _ in after if what == "view")
    if views:
        carts = sorted(at for at, what, _ in after if what == "cart" and at >= views[0])
        if carts:
            later = [at for at, what, _ in after if what == "buy" and at >= carts[0]]
            if later and min(later) - exposed < 60:
                done = 1.0
    out["checkout"] = done
    return out


def per_arm(world: dict[str, Any], name: str, metric: str) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {a: [] for a in ARMS}
    for u in USERS:
        values = numbers(world, name, u)
        if values:
            out[world["arm"][name][u]].append(values[metric])
    return out


def analysis(stack: Stack, world: dict[str, Any], name: str) -> dict[str, Any]:
    """/analysis once the aggregates hold every entity and event of the experiment."""
    url = f"{stack.url('frontdoor')}/projects/{world['project']}/experiments/{name}/analysis"
    deadline = time.monotonic() + 90
    body: dict[str, Any] = {}
    while time.monotonic() < deadline:
        body = httpx.get(url).json()
        comparisons = {c["metric"]: c for c in body.get("comparisons", [])}
        if len(comparisons) == len(EXPERIMENTS[name]["metricGoals"]) and all(
            caught_up(c, per_arm(world, name, metric))
            for metric, c in comparisons.items()
            if metric != "whales"  # its mean depends on the cap
        ):
            return body
        time.sleep(0.5)
    wanted = {
        metric: {
            a: (len(v), np.mean(np.array(v, dtype=float), axis=0).tolist() if v else 0)
            for a, v in per_arm(world, name, metric).items()
        }
        for metric in (c["metric"] for c in body.get("comparisons", []))
    }
    got = {
        c["metric"]: {
            "control": (c["control"]["n"], c["control"]["mean"]),
            "treatment": (c["treatmentStats"]["n"], c["treatmentStats"]["mean"]),
        }
        for c in body.get("comparisons", [])
    }
    raise AssertionError(f"the aggregates of {name} never caught up: {got} != {wanted}")


def caught_up(c: dict[str, Any], data: dict[str, list[Any]]) -> bool:
    """Whether a comparison's counts and raw means are those of the raw data."""
    for side, arm in (("control", "control"), ("treatmentStats", "treatment")):
        values = np.array(data[arm], dtype=float)
        if c[side]["n"] != len(values) or not len(values):
            return False
        mean = values[:, 0].mean() / values[:, 1].mean() if values.ndim == 2 else values.mean()
        if c[side]["mean"] != pytest.approx(mean, rel=1e-9, abs=1e-12):
            return False
    return True


def comparison(body: dict[str, Any], metric: str) -> dict[str, Any]:
    found: dict[str, Any] = next(c for c in body["comparisons"] if c["metric"] == metric)
    return found


def check_welch(c: dict[str, Any], data: dict[str, list[float]]) -> None:
    control, treated = np.array(data["control"]), np.array(data["treatment"])
    assert c["control"]["n"] == control.size and c["treatmentStats"]["n"] == treated.size
    assert c["control"]["mean"] == pytest.approx(control.mean(), rel=1e-9, abs=1e-12)
    assert c["treatmentStats"]["mean"] == pytest.approx(treated.mean(), rel=1e-9, abs=1e-12)
    welch = stats.ttest_ind(treated, control, equal_var=False)
    assert c["absoluteEffect"]["estimate"] == pytest.approx(treated.mean() - control.mean())
    assert c["absoluteEffect"]["pValue"] == pytest.approx(welch.pvalue, rel=1e-6)


def check_proportion(c: dict[str, Any], data: dict[str, list[float]]) -> None:
    control, treated = np.array(data["control"]), np.array(data["treatment"])
    assert c["conversions"] == {"control": int(control.sum()), "treatment": int(treated.sum())}
    assert c["treatmentStats"]["mean"] == pytest.approx(treated.mean(), rel=1e-12)
    wald = proportion.test_proportions_2indep(
        treated.sum(), treated.size, control.sum(), control.size, method="wald", compare="diff"
    )
    assert c["absoluteEffect"]["pValue"] == pytest.approx(wald.pvalue, rel=1e-6)


def check_ratio(c: dict[str, Any], data: dict[str, list[tuple[float, float]]]) -> None:
    """The delta method on raw (m, d) pairs, and a seeded bootstrap of its standard error."""

    def ratio_and_variance(pairs: np.ndarray) -> tuple[float, float]:
        m, d = pairs[:, 0], pairs[:, 1]
        r = m.mean() / d.mean()
        cov = np.cov(m, d, ddof=1)
        var = (
            cov[0, 0] / d.mean() ** 2
            - 2 * cov[0, 1] * m.mean() / d.mean() ** 3
            + m.mean() ** 2 * cov[1, 1] / d.mean() ** 4
        )
        return float(r), float(var)

    control, treated = np.array(data["control"]), np.array(data["treatment"])
    r_c, v_c = ratio_and_variance(control)
    r_t, v_t = ratio_and_variance(treated)
    assert c["control"]["mean"] == pytest.approx(r_c, rel=1e-9)
    assert c["treatmentStats"]["mean"] == pytest.approx(r_t, rel=1e-9)
    se2 = v_c / len(control) + v_t / len(treated)
    df = se2**2 / (
        (v_c / len(control)) ** 2 / (len(control) - 1)
        + (v_t / len(treated)) ** 2 / (len(treated) - 1)
    )
    t_stat = (r_t - r_c) / math.sqrt(se2)
    assert c["absoluteEffect"]["estimate"] == pytest.approx(r_t - r_c, rel=1e-9)
    assert c["absoluteEffect"]["pValue"] == pytest.approx(2 * stats.t.sf(abs(t_stat), df), rel=1e-6)
    rng = np.random.default_rng(5)
    boot = []
    for _ in range(2000):
        bc = control[rng.integers(0, len(control), len(control))]
        bt = treated[rng.integers(0, len(treated), len(treated))]
        boot.append(bt[:, 0].mean() / bt[:, 1].mean() - bc[:, 0].mean() / bc[:, 1].mean())
    # The delta method's standard error is the bootstrap's to within 15% at these sizes.
    assert math.sqrt(se2) == pytest.approx(float(np.std(boot, ddof=1)), rel=0.15)


def test_unique_conversions_average_and_sum_with_an_exposure_event(
    stack: Stack, world: dict[str, Any]
) -> None:
    body = analysis(stack, world, "e1")
    check_welch(comparison(body, "revenue"), per_arm(world, "e1", "revenue"))
    check_proportion(comparison(body, "buyers"), per_arm(world, "e1", "buyers"))
    check_ratio(comparison(body, "basket"), per_arm(world, "e1", "basket"))
    # A quarter of the entities were assigned but never fired the exposure event.
    health = body["healthChecks"]["assignedWithoutExposure"]
    assert health["applies"] is True
    for a in ARMS:
        assigned = [u for u in USERS if world["arm"]["e1"][u] == a]
        unexposed = [u for u in assigned if world["exposed_at"][u] is None]
        assert health["treatments"][a] == {
            "assigned": len(assigned),
            "exposed": len(assigned) - len(unexposed),
            "unexposed": len(unexposed),
        }
    revenue = comparison(body, "revenue")
    assert revenue["role"] == "PRIMARY" and revenue["metricType"] == "SUM"
    mean = revenue["treatmentStats"]["mean"]
    assert ("Above Goal" if mean > 5.0 else "Below Goal") in revenue["summary"]["badges"]
    assert revenue["healthChecks"]["minimumData"]["passed"] is True


def test_count_guardrail_and_formula_ratio(stack: Stack, world: dict[str, Any]) -> None:
    body = analysis(stack, world, "e2")
    check_welch(comparison(body, "rev"), per_arm(world, "e2", "rev"))
    buys = comparison(body, "buys")
    check_welch(buys, per_arm(world, "e2", "buys"))
    # A guardrail is out of the multiple-testing family: its adjusted p is its raw p.
    assert buys["role"] == "GUARDRAIL"
    assert buys["adjustedPValue"] == buys["pValue"]
    assert "degraded" in buys["summary"]
    check_ratio(comparison(body, "per_buy"), per_arm(world, "e2", "per_buy"))


def test_funnel_retention_and_a_percentile_cap(stack: Stack, world: dict[str, Any]) -> None:
    body = analysis(stack, world, "e3")
    check_proportion(comparison(body, "checkout"), per_arm(world, "e3", "checkout"))
    check_proportion(comparison(body, "back"), per_arm(world, "e3", "back"))
    whales = comparison(body, "whales")
    raw = per_arm(world, "e3", "whales")
    pooled = np.sort(np.concatenate([raw[a] for a in ARMS]))
    exact = pooled[math.ceil(0.9 * pooled.size) - 1]
    cap = whales["cap"]
    assert cap["kind"] == "PERCENTILE" and cap["percentile"] == 90.0
    # The cap is the upper edge of the 1%-wide bin holding the nearest-rank percentile.
    assert exact <= cap["value"] <= exact * 1.0203
    capped = {a: list(np.minimum(raw[a], cap["value"])) for a in ARMS}
    assert cap["touched"] == {a: int((np.array(raw[a]) > cap["value"]).sum()) for a in ARMS}
    assert sum(cap["touched"].values()) > 0
    assert whales["means"]["treatment"]["mean"] == pytest.approx(np.mean(capped["treatment"]))
    welch = stats.ttest_ind(capped["treatment"], capped["control"], equal_var=False)
    assert whales["absoluteEffect"]["pValue"] == pytest.approx(welch.pvalue, rel=1e-6)


def test_window_absolute_cap_difference_and_multiple_exposures(
    stack: Stack, world: dict[str, Any]
) -> None:
    body = analysis(stack, world, "e4")
    early = comparison(body, "early")
    check_welch(early, per_arm(world, "e4", "early"))
    raw = per_arm(world, "e4", "early_raw")
    assert early["cap"] == {
        "kind": "ABSOLUTE",
        "value": 30.0,
        "touched": {a: int((np.array(raw[a]) > 30.0).sum()) for a in ARMS},
    }
    check_welch(comparison(body, "net"), per_arm(world, "e4", "net"))
    multiple = body["healthChecks"]["multipleExposures"]
    assert multiple["entities"] == len(world["crossed"]) > 0
    assert multiple["treatments"] == {"control": len(world["crossed"]), "treatment": 0}
    assert multiple["flagged"] is True
    # Without an exposure event, the evaluation is the exposure.
    assert body["healthChecks"]["assignedWithoutExposure"]["applies"] is False


def test_results_via_boto3_for_a_binary_metric(
    stack: Stack, evidently: Any, world: dict[str, Any]
) -> None:
    analysis(stack, world, "e3")
    body = evidently.get_experiment_results(
        project=world["project"],
        experiment="e3",
        metricNames=["back"],
        treatmentNames=list(ARMS),
        reportNames=["BayesianInference"],
    )
    stat = {(r["treatmentName"], r["resultStat"]): r["values"][-1] for r in body["resultsData"]}
    data = per_arm(world, "e3", "back")
    assert stat[("treatment", "Mean")] == pytest.approx(np.mean(data["treatment"]))
    content = json.loads(body["reports"][0]["content"])
    assert content["metricType"] == "RETENTION"
    assert content["healthChecks"]["minimumData"]["passed"] is True


def test_a_binary_metrics_gate_holds_back_its_figures_until_25_conversions(
    stack: Stack, evidently: Any, world: dict[str, Any]
) -> None:
    """The stack's gate is 10 entities and 3 conversions per variation (tests/conftest.py);
    two entities ever convert on ``refunded``."""
    body = analysis(stack, world, "e5")
    refunded = comparison(body, "refunded")
    assert refunded["gated"] is True and "absoluteEffect" not in refunded
    gate = refunded["healthChecks"]["minimumData"]
    assert gate["passed"] is False and "conversions of the 3 needed" in gate["message"]
    assert refunded["conversions"]["control"] + refunded["conversions"]["treatment"] == 2
    check_welch(comparison(body, "rev5"), per_arm(world, "e5", "rev5"))
    results = evidently.get_experiment_results(
        project=world["project"],
        experiment="e5",
        metricNames=["refunded"],
        treatmentNames=list(ARMS),
    )
    assert results["resultsData"] == [] and "conversions" in results["details"]
    other = evidently.get_experiment_results(
        project=world["project"],
        experiment="e5",
        metricNames=["rev5"],
        treatmentNames=list(ARMS),
    )
    assert other["resultsData"]
