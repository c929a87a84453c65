"""The sequential analysis over many looks, end to end, against a look-by-look reference.

Data arrive in waves, one per 2 s bucket, over at least 10 buckets, so the /analysis
series has many looks that each count different data. For each look the test recomputes,
from its own ledger of per-entity outcomes and with ``reference_stats`` (numpy, statsmodels,
exact fractions; nothing from Verdict), the per-look mSPRT p-value and confidence sequence
of the relative lift (gbstats' formulas), their running minimum and running intersection,
and Holm's adjustment across the 2 treatments x 2 metrics at that look. One metric sits at
an offset of 1e9 with a spread of 1: its counts and means must match to 1e-9 relative, its
variances, p-values, effects and intervals to 1e-6.

At that offset 1e-9 of a mean is about 1, the whole spread: what guards its precision is the
variance and the lift. The lift there is 1e-10 to 1e-9, and 1e-6 of it is about one ulp of a
mean (1.2e-7), so the effect check holds only if each reported mean is the correctly rounded
mean of the outcomes, as the reference's exact fractions and Verdict's exact sums give.
A look whose data the ledger cannot pin down (an exposure that may fall on either side of
its cutoff, when a wave straddles a bucket boundary) is not compared; the running values
go on from what Verdict reported there.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import numpy as np
import pytest

from infra.launch.stack import Stack
from tests.e2e import reference_stats as ref
from tests.e2e.helpers import make_feature, now, propagated

pytestmark = pytest.mark.e2e

ARMS = ("control", "t1", "t2")
TREATMENTS = ("t1", "t2")
METRICS = ("big", "clicks")
BUCKET = 2  # tests/conftest.py: TEST_BUCKET_SECONDS
WAVES = 14
NEW_PER_WAVE = 10
EXTRA_CLICKS_PER_WAVE = 8
CLICKS_LIFT = {"control": 1.0, "t1": 2.0, "t2": 1.0}
OFFSET = 1e9
# A shift of 2 on the metric near 1e9 (a lift of 2e-9): two comparisons become significant,
# so Holm's step-down differs from Bonferroni's.
BIG_SHIFT = {"control": 0.0, "t1": 2.0, "t2": 0.0}
ALPHA = 0.05
# Verdict's rendering of an unbounded end: JSON has no infinity.
_BIG = 1.7976931348623157e308
EXACT = 1e-9  # counts and means
CLOSE = 1e-6  # variances, p-values, effects, intervals


@dataclass
class Ledger:
    """What the test sent: each entity's arm and exposure bucket, each event's bucket.

    An exposure's bucket is known to lie between the buckets of the times taken before and
    after the evaluation call; event timestamps are whole seconds the test picks, so their
    buckets are exact.
    """

    arm: dict[str, str] = field(default_factory=dict)
    exposure: dict[str, tuple[int, int]] = field(default_factory=dict)  # bucket range
    # (entity, metric, value, timestamp in whole seconds)
    events: list[tuple[str, str, float, int]] = field(default_factory=list)

    def ambiguous(self, cutoff: int) -> bool:
        """Whether some exposure may fall on either side of the cutoff (buckets < cutoff)."""
        return any(lo < cutoff <= hi for lo, hi in self.exposure.values())

    def outcomes(self, cutoff: int) -> dict[str, dict[str, list[float]]]:
        """Per metric and arm, the outcomes y of the entities exposed in buckets < cutoff:
        the sum of their values in buckets < cutoff (covariates are all 0)."""
        assert not self.ambiguous(cutoff)
        counted = [e for e, (_, hi) in self.exposure.items() if hi < cutoff]
        y = {(m, e): 0.0 for m in METRICS for e in counted}
        # In time order, as the entity's running total builds up.
        for entity, metric, value, stamp in sorted(self.events, key=lambda ev: (ev[3], ev[2])):
            if (metric, entity) in y and stamp // BUCKET < cutoff:
                y[(metric, entity)] += value
        out: dict[str, dict[str, list[float]]] = {m: {a: [] for a in ARMS} for m in METRICS}
        for (metric, entity), value in y.items():
            out[metric][self.arm[entity]].append(value)
        return out


def click(rng: np.random.Generator, arm: str, low: float, high: float) -> float:
    return float(np.round(rng.uniform(low, high) * CLICKS_LIFT[arm], 2))


def sleep_to_next_bucket() -> None:
    time.sleep(BUCKET - time.time() % BUCKET + 0.02)


def run_waves(evidently: Any, project: str, rng: np.random.Generator) -> tuple[Ledger, int]:
    """One wave per bucket: new entities exposed, each with its one "big" event (and most
    with a first click), plus further clicks for entities of earlier waves. Returns the
    ledger and how many waves straddled a bucket boundary."""
    ledger = Ledger()
    straddled = 0
    for w in range(WAVES):
        sleep_to_next_bucket()
        start = time.time()
        earlier = list(ledger.arm)
        ids = [f"w{w}-u{k}" for k in range(NEW_PER_WAVE)]
        answer = evidently.batch_evaluate_feature(
            project=project, requests=[{"feature": "f", "entityId": e} for e in ids]
        )["results"]
        evaluated = time.time()
        for r in answer:
            ledger.arm[r["entityId"]] = json.loads(r["details"])["treatment"]
            ledger.exposure[r["entityId"]] = (int(start // BUCKET), int(evaluated // BUCKET))
        assert set(ids) <= set(ledger.arm)
        # Whole seconds (botocore sends no more), and not before any exposure's second.
        stamp = math.floor(evaluated)
        data: list[dict[str, Any]] = []
        for e in ids:
            arm = ledger.arm[e]
            big = float(np.round(OFFSET + BIG_SHIFT[arm] + rng.normal(0.0, 1.0), 3))
            first: dict[str, Any] = {"user": e, "big": big}
            ledger.events.append((e, "big", big, stamp))
            if rng.random() < 0.95:
                first["clicks"] = click(rng, arm, 4.0, 6.0)
                ledger.events.append((e, "clicks", first["clicks"], stamp))
            data.append(first)
        if earlier:
            picked = rng.choice(len(earlier), min(EXTRA_CLICKS_PER_WAVE, len(earlier)), False)
            for i in picked:
                e = earlier[int(i)]
                value = click(rng, ledger.arm[e], 0.5, 1.5)
                ledger.events.append((e, "clicks", value, stamp))
                data.append({"user": e, "clicks": value})
        at = datetime.fromtimestamp(stamp, UTC)
        out = evidently.put_project_events(
            project=project,
            events=[
                {"timestamp": at, "type": "aws.evidently.custom", "data": json.dumps(d)}
                for d in data
            ],
        )
        assert out["failedEventCount"] == 0
        end = time.time()
        if int(start // BUCKET) != int(end // BUCKET):
            straddled += 1
    return ledger, straddled


def unbounded(interval: list[float]) -> tuple[float, float]:
    """Verdict's rendered ends back to infinities where they stand for one."""
    low, high = interval
    return (-math.inf if low == -_BIG else low, math.inf if high == _BIG else high)


def close(got: float, want: float, rel: float) -> bool:
    if math.isinf(want):
        return got == math.copysign(_BIG, want)
    return math.isclose(got, want, rel_tol=rel, abs_tol=0.0)


def close_interval(got: list[float], low: float, high: float) -> bool:
    """Each end to 1e-6 of the interval's size of ends: an end near 0 is the difference of
    an estimate and a half width, and carries their rounding, not its own."""
    scale = max((abs(v) for v in (low, high) if math.isfinite(v)), default=0.0)
    for g, want in zip(got, (low, high), strict=True):
        if math.isinf(want):
            if g != math.copysign(_BIG, want):
                return False
        elif abs(g - want) > CLOSE * scale:
            return False
    return True


@pytest.fixture(scope="module")
def many_looks(stack: Stack, evidently: Any) -> dict[str, Any]:
    project = f"looks-{int(time.time() * 1000)}"
    evidently.create_project(name=project)
    make_feature(evidently, project, "f", *ARMS)
    evidently.create_experiment(
        project=project,
        name="e",
        treatments=[{"name": a, "feature": "f", "variation": a} for a in ARMS],
        metricGoals=[
            {
                "metricDefinition": {"name": m, "entityIdKey": "user", "valueKey": m},
                "desiredChange": "INCREASE",
            }
            for m in METRICS
        ],
        onlineAbConfig={
            "controlTreatmentName": "control",
            "treatmentWeights": {"control": 33334, "t1": 33333, "t2": 33333},
        },
    )
    evidently.start_experiment(
        project=project, experiment="e", analysisCompleteTime=now() + timedelta(days=1)
    )
    started = evidently.get_experiment(project=project, experiment="e")["experiment"]["execution"][
        "startedTime"
    ].timestamp()
    propagated(stack)
    ledger, straddled = run_waves(evidently, project, np.random.default_rng(20240611))

    url = f"{stack.url('frontdoor')}/projects/{project}/experiments/e"
    final = ledger.outcomes(10**12)
    deadline = time.monotonic() + 30
    aggregates: dict[str, Any] = {}
    while time.monotonic() < deadline:
        aggregates = httpx.get(f"{url}/aggregates").json()
        cells = aggregates["metrics"]
        if all(
            cells[m][a]["n"] == len(final[m][a])
            and math.isclose(cells[m][a]["mean"], ref.arm_stats(final[m][a]).mean, rel_tol=EXACT)
            for m in METRICS
            for a in ARMS
        ):
            break
        time.sleep(0.25)
    else:
        raise AssertionError(f"the aggregates never caught up: {aggregates}")
    asked = time.time()
    analysis = httpx.get(f"{url}/analysis", params={"period": BUCKET}).json()
    answered = time.time()
    return {
        "ledger": ledger,
        "straddled": straddled,
        "started": started,
        "asked": (asked, answered),
        "aggregates": aggregates,
        "analysis": analysis,
        "final": final,
    }


def test_aggregates_per_bucket_hold_an_offset_of_1e9(many_looks: dict[str, Any]) -> None:
    """/aggregates' cumulative series, bucket by bucket: n and mean to 1e-9, variance to 1e-6,
    for the metric near 1e9 whose spread is 1, and for the clicks."""
    ledger: Ledger = many_looks["ledger"]
    aggregates = many_looks["aggregates"]
    assert aggregates["bucketSeconds"] == BUCKET
    checked = 0
    for metric in METRICS:
        for arm in ARMS:
            series = aggregates["metrics"][metric][arm]["series"]
            assert [s["bucket"] for s in series] == sorted({s["bucket"] for s in series})
            for point in series:
                cutoff = point["bucket"] + 1
                if ledger.ambiguous(cutoff):
                    continue
                want = ref.arm_stats(ledger.outcomes(cutoff)[metric][arm])
                where = f"{metric}/{arm} at bucket {point['bucket']}"
                assert point["n"] == want.n, where
                assert math.isclose(point["mean"], want.mean, rel_tol=EXACT, abs_tol=0.0), (
                    where,
                    point["mean"],
                    want.mean,
                )
                if want.n >= 2:
                    assert math.isclose(
                        point["variance"], want.variance, rel_tol=CLOSE, abs_tol=0.0
                    ), (where, point["variance"], want.variance)
                assert point["covariateMean"] == 0.0 and point["covariateVariance"] == 0.0
                checked += metric == "big"
    buckets = {lo for lo, _ in ledger.exposure.values()}
    assert len(buckets) >= 10, f"the data span {len(buckets)} buckets"
    assert checked >= 10 * len(ARMS)


def test_series_is_always_valid_and_holm_corrected_at_every_look(
    many_looks: dict[str, Any],
) -> None:
    """Structure, read off Verdict's series alone: the p-values only fall, each interval lies
    in the one before, and every look's adjusted p-values are Holm's of its p-values."""
    analysis = many_looks["analysis"]
    assert "comparisons" in analysis, analysis
    assert analysis["method"] == "sequential" and analysis["correction"] == "holm"
    assert analysis["effectScale"] == "relative"
    comparisons = {(c["metric"], c["treatment"]): c for c in analysis["comparisons"]}
    assert set(comparisons) == {(m, t) for m in METRICS for t in TREATMENTS}

    times = analysis["timestamps"]
    started, (asked, answered) = many_looks["started"], many_looks["asked"]
    assert len(times) >= WAVES
    # Look k ends at start + k * period; the last one at the time of asking.
    for k, t in enumerate(times[:-1], start=1):
        assert t == pytest.approx(started + k * BUCKET, abs=1e-3)
    assert times[-2] < times[-1] and asked <= times[-1] <= answered
    assert times[-1] - times[-2] <= BUCKET + 1e-6

    for key, c in comparisons.items():
        series = c["series"]
        assert [s["time"] for s in series] == times, key
        for before, after in zip(series, series[1:], strict=False):
            assert after["pValue"] <= before["pValue"], (key, before, after)
            for name in ("interval", "relativeInterval", "absoluteInterval"):
                assert before[name][0] <= after[name][0], (key, name, before, after)
                assert after[name][1] <= before[name][1], (key, name, before, after)
        for s in series:
            assert s["adjustedPValue"] >= s["pValue"], (key, s)
            assert s["effect"] == s["relativeEffect"] and s["interval"] == s["relativeInterval"]
    for k in range(len(times)):
        raw = [comparisons[key]["series"][k]["pValue"] for key in comparisons]
        adjusted = [comparisons[key]["series"][k]["adjustedPValue"] for key in comparisons]
        assert adjusted == pytest.approx(ref.holm(raw), rel=1e-12, abs=0.0), k

    for metric in METRICS:
        moved = [s["pValue"] for s in comparisons[(metric, "t1")]["series"]]
        assert len(set(moved)) >= 5, f"the p-value of {metric}/t1 hardly moved: {moved}"


def test_every_look_matches_the_reference(many_looks: dict[str, Any]) -> None:
    """n, means, p-values, adjusted p-values, effects and intervals at every look whose data
    the ledger knows exactly, against the reference computed look by look."""
    ledger: Ledger = many_looks["ledger"]
    analysis = many_looks["analysis"]
    assert "comparisons" in analysis, analysis
    comparisons = {(c["metric"], c["treatment"]): c for c in analysis["comparisons"]}
    keys = [(m, t) for m in METRICS for t in TREATMENTS]
    relative = {key: ref.START for key in keys}
    absolute = {key: ref.START for key in keys}
    compared = 0
    mismatches: list[str] = []

    def check(ok: bool, what: str, got: Any, want: Any) -> None:
        if not ok:
            mismatches.append(f"{what}: got {got!r}, expected {want!r}")

    for k, t in enumerate(analysis["timestamps"]):
        cutoff = math.ceil(t / BUCKET)
        if ledger.ambiguous(cutoff):
            # An exposure may lie on either side: this look's data are unknown, so the
            # running values go on from what Verdict reported (whose nesting the structural
            # test checks), and the later looks are still compared.
            for key in keys:
                s = comparisons[key]["series"][k]
                relative[key] = ref.Running(s["pValue"], *unbounded(s["interval"]))
                absolute[key] = ref.Running(1.0, *unbounded(s["absoluteInterval"]))
            continue
        outcomes = ledger.outcomes(cutoff)
        looks = {}
        for metric, treatment in keys:
            control = ref.arm_stats(outcomes[metric]["control"])
            treated = ref.arm_stats(outcomes[metric][treatment])
            rel = ref.relative_look(control, treated, ALPHA)
            ab = ref.absolute_look(control, treated, ALPHA)
            relative[(metric, treatment)] = ref.advance(relative[(metric, treatment)], rel)
            absolute[(metric, treatment)] = ref.advance(absolute[(metric, treatment)], ab)
            looks[(metric, treatment)] = (rel, ab)
        adjusted = ref.holm([relative[key].p_value for key in keys])
        for key, want_adjusted in zip(keys, adjusted, strict=True):
            s = comparisons[key]["series"][k]
            rel, ab = looks[key]
            run, run_abs = relative[key], absolute[key]
            where = f"look {k} (t={t}, buckets < {cutoff}) {key[0]}/{key[1]}"
            check(close(s["pValue"], run.p_value, CLOSE), f"{where} pValue", s["pValue"], run)
            check(
                close(s["adjustedPValue"], want_adjusted, CLOSE),
                f"{where} adjustedPValue",
                s["adjustedPValue"],
                want_adjusted,
            )
            check(close(s["effect"], rel.estimate, CLOSE), f"{where} effect", s["effect"], rel)
            check(
                close_interval(s["interval"], run.low, run.high),
                f"{where} interval",
                s["interval"],
                (run.low, run.high),
            )
            check(
                close(s["absoluteEffect"], ab.estimate, CLOSE),
                f"{where} absoluteEffect",
                s["absoluteEffect"],
                ab,
            )
            check(
                close_interval(s["absoluteInterval"], run_abs.low, run_abs.high),
                f"{where} absoluteInterval",
                s["absoluteInterval"],
                (run_abs.low, run_abs.high),
            )
        if all(
            len(outcomes[m][a]) >= 2 for m in METRICS for a in ARMS
        ):  # a look where every comparison is tested
            compared += 1
    assert not mismatches, "\n".join(mismatches[:40])
    assert compared >= 10, f"only {compared} looks compared"

    # The last look's counts and means, as /analysis reports them.
    final = many_looks["final"]
    for (metric, treatment), c in comparisons.items():
        for arm, got in (("control", c["control"]), (treatment, c["treatmentStats"])):
            want = ref.arm_stats(final[metric][arm])
            assert got["n"] == want.n, (metric, arm)
            assert math.isclose(got["mean"], want.mean, rel_tol=EXACT, abs_tol=0.0), (
                metric,
                arm,
                got["mean"],
                want.mean,
            )
