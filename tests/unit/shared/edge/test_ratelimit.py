"""Rate limits: bursts, refill on a fake clock, separate keys, the environment, bounded memory."""

from __future__ import annotations

import gc
import sys
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import botocore.session  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.edge.ratelimit import (
    CLASS_VARIABLES,
    ENVIRONMENT_VARIABLES,
    Limit,
    OperationClass,
    RateLimiter,
    RateLimits,
    classify,
)

NS = 1_000_000_000


@dataclass
class FakeClock:
    ns: int = 1_000 * NS

    def __call__(self) -> int:
        return self.ns

    def advance(self, seconds: float) -> None:
        self.ns += round(seconds * NS)


def limiter(clock: FakeClock, **limits: Any) -> RateLimiter:
    return RateLimiter(RateLimits(**limits), clock)


def allowed(limiter: RateLimiter, n: int, operation: str = "EvaluateFeature", **key: str) -> int:
    principal = key.get("principal", "AKID1")
    project = key.get("project", "p")
    return sum(limiter.check(principal, operation, project) is None for _ in range(n))


# --- the bucket ----------------------------------------------------------------------------


def test_a_burst_is_allowed_at_once_then_throttled_for_one_interval() -> None:
    clock = FakeClock()
    rl = limiter(clock, evaluate_feature=Limit(10, 5))
    assert allowed(rl, 5) == 5
    assert rl.check("AKID1", "EvaluateFeature", "p") == pytest.approx(0.1)
    assert rl.check("AKID1", "EvaluateFeature", "p") == pytest.approx(0.1)  # refusals cost nothing


def test_the_bucket_refills_at_the_rate_up_to_the_burst() -> None:
    clock = FakeClock()
    rl = limiter(clock, evaluate_feature=Limit(10, 5))
    assert allowed(rl, 5) == 5
    clock.advance(0.1)
    assert allowed(rl, 5) == 1
    clock.advance(0.35)
    assert allowed(rl, 5) == 3
    clock.advance(3600)
    assert allowed(rl, 50) == 5


def test_retry_after_is_exactly_when_the_request_would_pass() -> None:
    clock = FakeClock()
    rl = limiter(clock, put_project_events=Limit(3, 2))
    assert allowed(rl, 2, "PutProjectEvents") == 2
    wait = rl.check("AKID1", "PutProjectEvents", "p")
    assert wait is not None
    clock.advance(wait - 1e-9)
    assert rl.check("AKID1", "PutProjectEvents", "p") == pytest.approx(1e-9)
    clock.advance(1e-9)
    assert rl.check("AKID1", "PutProjectEvents", "p") is None


def test_fractional_rates_are_exact() -> None:
    clock = FakeClock()
    rl = limiter(clock, write=Limit(0.1, 1))
    assert allowed(rl, 2, "CreateFeature") == 1
    clock.advance(9.999_999_999)
    assert allowed(rl, 1, "CreateFeature") == 0
    clock.advance(1e-9)
    assert allowed(rl, 1, "CreateFeature") == 1


def test_a_steady_client_at_the_rate_is_never_throttled() -> None:
    clock = FakeClock()
    rl = RateLimiter(RateLimits(), clock)
    for _ in range(5_000):
        assert rl.check("AKID1", "EvaluateFeature", "p") is None
        clock.advance(0.001)


@pytest.mark.parametrize(
    ("operation", "burst"),
    [
        ("EvaluateFeature", 1000),
        ("BatchEvaluateFeature", 50),
        ("PutProjectEvents", 1000),
        ("GetFeature", 20),
        ("CreateFeature", 20),
    ],
)
def test_the_defaults_allow_their_burst(operation: str, burst: int) -> None:
    rl = RateLimiter(RateLimits(), FakeClock())
    assert allowed(rl, burst + 10, operation) == burst


# --- classes and keys ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "kind"),
    [
        ("EvaluateFeature", OperationClass.EVALUATE_FEATURE),
        ("BatchEvaluateFeature", OperationClass.BATCH_EVALUATE_FEATURE),
        ("PutProjectEvents", OperationClass.PUT_PROJECT_EVENTS),
        ("GetExperimentResults", OperationClass.READ),
        ("ListTagsForResource", OperationClass.READ),
        ("TestSegmentPattern", OperationClass.WRITE),
        ("UpdateProjectDataDelivery", OperationClass.WRITE),
        ("TagResource", OperationClass.WRITE),
    ],
)
def test_operations_are_classified(operation: str, kind: OperationClass) -> None:
    assert classify(operation) is kind


def test_every_model_operation_has_a_class_and_only_three_are_data_plane() -> None:
    model = botocore.session.get_session().get_service_model("evidently")
    kinds = {name: classify(name) for name in model.operation_names}
    data_plane = {name for name, kind in kinds.items() if kind.value == name}
    assert data_plane == {"EvaluateFeature", "BatchEvaluateFeature", "PutProjectEvents"}
    assert {n for n, k in kinds.items() if k is OperationClass.READ} == {
        n for n in kinds if n.startswith(("Get", "List"))
    }


def test_data_plane_buckets_are_per_principal_project_and_operation() -> None:
    rl = limiter(
        FakeClock(),
        evaluate_feature=Limit(1, 3),
        batch_evaluate_feature=Limit(1, 3),
        put_project_events=Limit(1, 3),
    )
    assert allowed(rl, 10) == 3
    assert allowed(rl, 10, principal="AKID2") == 3
    assert allowed(rl, 10, project="q") == 3
    assert allowed(rl, 10, "BatchEvaluateFeature") == 3
    assert allowed(rl, 10, "PutProjectEvents") == 3
    assert allowed(rl, 10) == 0


def test_the_control_plane_shares_one_bucket_per_principal_across_projects() -> None:
    rl = limiter(FakeClock(), read=Limit(1, 4), write=Limit(1, 2))
    assert allowed(rl, 2, "GetFeature", project="p") == 2
    assert allowed(rl, 5, "ListFeatures", project="q") == 2
    assert rl.check("AKID1", "ListProjects", None) is not None
    assert allowed(rl, 5, "CreateFeature", project="p") == 2
    assert allowed(rl, 5, "GetFeature", principal="AKID2") == 4


def test_a_data_plane_request_without_a_project_has_its_own_bucket() -> None:
    rl = limiter(FakeClock(), evaluate_feature=Limit(1, 1))
    assert rl.check("AKID1", "EvaluateFeature", None) is None
    assert rl.check("AKID1", "EvaluateFeature", "") is not None
    assert rl.check("AKID1", "EvaluateFeature", "p") is None


# --- off -----------------------------------------------------------------------------------


def test_off_allows_everything_and_keeps_nothing() -> None:
    rl = RateLimiter(RateLimits.off(), FakeClock())
    assert not rl.limits.enabled
    for operation in ("EvaluateFeature", "BatchEvaluateFeature", "GetFeature", "CreateFeature"):
        assert allowed(rl, 10_000, operation) == 10_000
    assert len(rl) == 0


@pytest.mark.parametrize("value", ["off", "OFF", " Off "])
def test_the_environment_turns_every_limit_off(value: str) -> None:
    limits = RateLimits.from_env({"VERDICT_RATE_LIMITS": value, "VERDICT_RATE_READ": "5"})
    assert limits == RateLimits.off()


def test_one_class_can_be_turned_off() -> None:
    limits = RateLimits.from_env({"VERDICT_RATE_LIMITS": "EvaluateFeature=off"})
    rl = RateLimiter(limits, FakeClock())
    assert limits.enabled
    assert allowed(rl, 5_000) == 5_000
    assert allowed(rl, 100, "BatchEvaluateFeature") == 50


# --- the environment -----------------------------------------------------------------------


def test_no_variables_give_the_defaults() -> None:
    assert RateLimits.from_env({}) == RateLimits()
    assert RateLimits.from_env({name: "" for name in ENVIRONMENT_VARIABLES}) == RateLimits()
    assert RateLimits() == RateLimits(
        evaluate_feature=Limit(1000, 1000),
        batch_evaluate_feature=Limit(50, 50),
        put_project_events=Limit(1000, 1000),
        read=Limit(10, 20),
        write=Limit(10, 20),
        max_keys=10_000,
    )


def test_the_list_sets_rates_and_bursts() -> None:
    limits = RateLimits.from_env(
        {"VERDICT_RATE_LIMITS": " evaluatefeature=2000 , PutProjectEvents=50:75,Read=0.5,"}
    )
    assert limits.evaluate_feature == Limit(2000, 2000)
    assert limits.put_project_events == Limit(50, 75)
    assert limits.read == Limit(0.5, 1)
    assert limits.batch_evaluate_feature == Limit(50, 50)
    assert limits.write == Limit(10, 20)


def test_an_omitted_burst_is_one_second_of_data_plane_and_two_of_control_plane() -> None:
    limits = RateLimits.from_env(
        {"VERDICT_RATE_BATCHEVALUATEFEATURE": "7.5", "VERDICT_RATE_WRITE": "7.5"}
    )
    assert limits.batch_evaluate_feature == Limit(7.5, 8)
    assert limits.write == Limit(7.5, 15)


def test_a_class_variable_wins_over_the_list() -> None:
    limits = RateLimits.from_env(
        {
            "VERDICT_RATE_LIMITS": "EvaluateFeature=10,Write=3",
            "VERDICT_RATE_EVALUATEFEATURE": "20:40",
            "VERDICT_RATE_MAX_KEYS": "500",
        }
    )
    assert limits.evaluate_feature == Limit(20, 40)
    assert limits.write == Limit(3, 6)
    assert limits.max_keys == 500


def test_each_class_has_its_variable() -> None:
    for kind, variable in CLASS_VARIABLES.items():
        assert RateLimits.from_env({variable: "3:4"}).limit(kind) == Limit(3, 4)
    assert set(CLASS_VARIABLES.values()) < set(ENVIRONMENT_VARIABLES)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("VERDICT_RATE_EVALUATEFEATURE", "fast"),
        ("VERDICT_RATE_EVALUATEFEATURE", "0"),
        ("VERDICT_RATE_EVALUATEFEATURE", "-5"),
        ("VERDICT_RATE_EVALUATEFEATURE", "nan"),
        ("VERDICT_RATE_EVALUATEFEATURE", "inf"),
        ("VERDICT_RATE_READ", "10:0"),
        ("VERDICT_RATE_READ", "10:1.5"),
        ("VERDICT_RATE_READ", "10:"),
        ("VERDICT_RATE_WRITE", "10:5:5"),
        ("VERDICT_RATE_LIMITS", "Evaluate=10"),
        ("VERDICT_RATE_LIMITS", "EvaluateFeature"),
        ("VERDICT_RATE_LIMITS", "on"),
        ("VERDICT_RATE_LIMITS", "EvaluateFeature=1,evaluatefeature=2"),
        ("VERDICT_RATE_LIMITS", "Read=ten"),
        ("VERDICT_RATE_MAX_KEYS", "0"),
        ("VERDICT_RATE_MAX_KEYS", "lots"),
    ],
)
def test_a_bad_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(ValueError, match=variable) as raised:
        RateLimits.from_env({variable: value})
    assert type(raised.value) is ValueError


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (-1, 1), (float("inf"), 1), (1, 0), (1, 2.5)])
def test_a_limit_is_validated(rate: float, burst: int) -> None:
    with pytest.raises(ValueError):
        Limit(rate, burst)


# --- memory --------------------------------------------------------------------------------


def test_idle_buckets_leave_once_full() -> None:
    clock = FakeClock()
    rl = limiter(clock, evaluate_feature=Limit(10, 10), read=Limit(1, 1_000))
    for i in range(100):
        rl.check(f"AKID{i}", "EvaluateFeature", "p")
    assert len(rl) == 100
    clock.advance(0.1)  # full again: one request's worth refilled
    for _ in range(50):
        assert rl.check("busy", "GetFeature", None) is None
    assert len(rl) == 1
    assert rl.evicted_early == 0


def test_a_bucket_not_yet_full_stays_under_the_bound() -> None:
    clock = FakeClock()
    rl = limiter(clock, evaluate_feature=Limit(1, 1))
    for i in range(10):
        rl.check(f"AKID{i}", "EvaluateFeature", "p")
    clock.advance(0.5)
    rl.check("other", "EvaluateFeature", "p")
    assert len(rl) == 11


def test_past_the_bound_the_coldest_bucket_is_forgotten_failing_open() -> None:
    clock = FakeClock()
    rl = limiter(clock, evaluate_feature=Limit(1, 1), max_keys=1)
    assert rl.check("a", "EvaluateFeature", "p") is None
    assert rl.check("a", "EvaluateFeature", "p") is not None
    assert rl.check("b", "EvaluateFeature", "p") is None
    assert (len(rl), rl.evicted_early) == (1, 1)
    assert rl.check("a", "EvaluateFeature", "p") is None


def test_a_million_distinct_keys_stay_within_the_bound() -> None:
    bound = 1_000
    clock = FakeClock()  # frozen: no bucket ever refills, so only the bound evicts
    rl = limiter(clock, evaluate_feature=Limit(1, 1), max_keys=bound)
    # Past the bound for a while first, so the table has reached its churning size.
    for i in range(10 * bound):
        rl.check(f"AKID{i}", "EvaluateFeature", "p")
    gc.collect()
    blocks = sys.getallocatedblocks()
    largest = 0
    for i in range(10 * bound, 1_000_000):
        rl.check(f"AKID{i}", "EvaluateFeature", "p")
        if i % 997 == 0:
            largest = max(largest, len(rl))
    gc.collect()
    grown = sys.getallocatedblocks() - blocks
    assert largest == len(rl) == bound
    assert rl.evicted_early == 1_000_000 - bound
    # Each kept key holds about four blocks (tuple, two strings, int): unbounded, the
    # million would add millions of blocks; bounded, the count stays where it was.
    assert grown < 1_000


# --- properties ----------------------------------------------------------------------------

rates = st.builds(
    Fraction, st.integers(min_value=1, max_value=50), st.sampled_from([1, 2, 4, 5, 10, 100])
)


@settings(max_examples=300, deadline=None)
@given(
    rate=rates,
    burst=st.integers(min_value=1, max_value=10),
    requests=st.lists(
        st.tuples(st.integers(min_value=0, max_value=1_500), st.sampled_from(["a", "b"])),
        max_size=150,
    ),
)
def test_no_window_admits_more_than_rate_times_length_plus_burst(
    rate: Fraction, burst: int, requests: list[tuple[int, str]]
) -> None:
    clock = FakeClock()
    rl = limiter(clock, evaluate_feature=Limit(float(rate), burst))
    times: dict[str, list[int]] = {"a": [], "b": []}
    for step_ms, principal in requests:
        clock.ns += step_ms * 1_000_000
        if rl.check(principal, "EvaluateFeature", "p") is None:
            times[principal].append(clock.ns)
    for admitted in times.values():
        # The fullest window of each length starts and ends on admitted requests.
        for i, start in enumerate(admitted):
            for j in range(i, len(admitted)):
                window = Fraction(admitted[j] - start, NS)
                assert j - i + 1 <= rate * window + burst


@settings(max_examples=200, deadline=None)
@given(
    rate=rates,
    burst=st.integers(min_value=1, max_value=10),
    extra=st.integers(min_value=1, max_value=20),
)
def test_the_wait_returned_is_exact_to_the_nanosecond(
    rate: Fraction, burst: int, extra: int
) -> None:
    clock = FakeClock()
    rl = limiter(clock, batch_evaluate_feature=Limit(float(rate), burst))
    assert allowed(rl, burst + extra, "BatchEvaluateFeature") == burst
    wait = rl.check("AKID1", "BatchEvaluateFeature", "p")
    assert wait is not None
    clock.advance(wait - 1e-9)
    assert rl.check("AKID1", "BatchEvaluateFeature", "p") is not None
    clock.advance(1e-9)
    assert rl.check("AKID1", "BatchEvaluateFeature", "p") is None
    assert wait == pytest.approx(float(1 / rate), abs=1e-9)
