"""Conformance with botocore's evidently model: every operation and every input constraint.

Part 1 makes one valid boto3 call of each of the 38 operations and checks the raw
response body against the operation's output shape. Part 2 sends, for every
constraint of every input member, a request breaking exactly it, to the front door
and to the service that owns the operation, and expects a 400 ValidationException
naming the member. The cases come from ``tests/e2e/conformance.py``.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from infra.launch.stack import Stack
from tests.e2e.conformance import (
    ARN,
    BASELINES,
    OWNER,
    VALID_CALLS,
    Case,
    Checker,
    World,
    botocore_errors,
    expected_constraints,
    extensions,
    generate,
    input_shape,
    operations,
    output_shape,
    prepare,
    request_for,
)
from tests.e2e.helpers import variations

pytestmark = pytest.mark.e2e

# -- part 1: a valid call of each operation ---------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    status: int | None
    body: bytes | None
    error: Exception | None


@pytest.fixture(scope="module")
def valid_outcomes(stack: Stack, evidently: Any) -> dict[str, Outcome]:
    """Every call of ``VALID_CALLS``, in order, with the raw response each one got.

    They run once, together, because each acts on what the earlier ones made; the
    per-operation tests below only judge what was recorded.
    """
    world = World(stack, uuid.uuid4().hex[:8])
    prepare(evidently, world)
    raw: dict[str, tuple[int, bytes]] = {}

    # The body as it came off the wire, before botocore's parser forgives anything.
    def record(http_response: Any, model: Any, **_: Any) -> None:
        raw[model.name] = (http_response.status_code, http_response.content)

    events = evidently.meta.events
    events.register("after-call.evidently", record, unique_id="conformance-recorder")
    outcomes: dict[str, Outcome] = {}
    try:
        for operation, call in VALID_CALLS.items():
            raw.pop(operation, None)
            error: Exception | None = None
            try:
                call(evidently, world)
            except Exception as exc:  # judged per operation, below
                error = exc
            status, body = raw.get(operation, (None, None))
            outcomes[operation] = Outcome(status, body, error)
    finally:
        events.unregister("after-call.evidently", unique_id="conformance-recorder")
    return outcomes


def test_valid_calls_cover_every_operation() -> None:
    assert sorted(VALID_CALLS) == sorted(operations())


def test_checker_reports_each_deviation() -> None:
    """A green output check means something: one body, one fault of each kind."""
    feature = {
        "arn": f"{ARN}:project/p/feature/f",
        "createdTime": "2026-01-01T00:00:00Z",  # ISO text, not epoch seconds
        "lastUpdatedTime": True,  # a bool is no number
        "evaluationStrategy": "SOMETIMES",  # not in the enum
        "name": "f" * 128,  # over max
        "status": "AVAILABLE",
        "variations": [
            {"name": "a b", "value": {"stringValue": "x", "longValue": 1}},  # pattern; union
            {"name": "b", "value": {"longValue": 1.5}},  # a float for a long
        ],
        "tags": {"k": 7},  # a map value of the wrong type
        "surprise": 1,  # documented nowhere
        "description": None,  # null instead of absent
    }
    if "resourceVersion" in extensions()[0].get("Feature", {}):
        feature["resourceVersion"] = 3  # documented by Verdict: allowed
    found = {
        path
        for path, _ in Checker.for_responses().check("GetFeatureResponse", {"feature": feature})
    }
    assert found == {
        "feature.createdTime",
        "feature.lastUpdatedTime",
        "feature.evaluationStrategy",
        "feature.name",
        "feature.valueType",  # required, missing
        "feature.variations[0].name",
        "feature.variations[0].value",
        "feature.variations[1].value.longValue",
        "feature.tags{value}",
        "feature.surprise",
        "feature.description",
    }


@pytest.mark.parametrize("operation", list(VALID_CALLS))
def test_valid_call_matches_the_output_shape(
    operation: str, valid_outcomes: dict[str, Outcome]
) -> None:
    outcome = valid_outcomes[operation]
    body = (outcome.body or b"").decode("utf-8", "replace")
    assert outcome.error is None, f"{operation} raised {outcome.error!r}; body {body[:500]}"
    expected_status = operations()[operation]["http"]["responseCode"]
    assert outcome.status == expected_status, f"status {outcome.status}; body {body[:500]}"
    try:
        parsed = json.loads(body)
    except ValueError:
        pytest.fail(f"{operation}: the body is not JSON: {body[:500]!r}")
    deviations = Checker.for_responses().check(output_shape(operation), parsed)
    assert not deviations, f"{operation} ({output_shape(operation)}):\n" + "\n".join(
        f"  {path or '<body>'}: {what}" for path, what in deviations
    )


# -- part 2: every input constraint is a ValidationException ------------------------------

CASES = generate().cases


def test_baselines_are_valid() -> None:
    """By botocore's ParamValidator and by the checker: the variants' only fault is theirs."""
    checker = Checker.for_requests()
    problems: list[str] = []
    for operation, baselines in BASELINES.items():
        for i, baseline in enumerate(baselines):
            if errors := botocore_errors(operation, baseline):
                problems.append(f"{operation}[{i}] botocore: {errors}")
            for path, what in checker.check(input_shape(operation), baseline):
                problems.append(f"{operation}[{i}] {path}: {what}")
    assert sorted(BASELINES) == sorted(operations())
    assert not problems, "\n".join(problems)


def test_variants_are_invalid() -> None:
    """Each variant fails its own constraint, and botocore agrees wherever it looks.

    ParamValidator checks required, type, min and unions; max, enums, patterns and
    labels only the checker sees. The ARN variants break Verdict's rule, not the model.
    """
    checker = Checker.for_requests()
    problems: list[str] = []
    for case in CASES:
        paths = {path for path, _ in checker.check(input_shape(case.operation), case.params)}
        if case.model_constraint and case.path not in paths:
            problems.append(f"{case.id}: the checker finds nothing at {case.path}")
        if not case.model_constraint and paths:
            problems.append(f"{case.id}: model-invalid beyond the ARN: {sorted(paths)}")
        seen = bool(botocore_errors(case.operation, case.params))
        if seen != case.botocore_sees:
            problems.append(f"{case.id}: botocore {'reports' if seen else 'misses'} it")
    assert not problems, "\n".join(problems)


def test_every_constrained_member_has_cases() -> None:
    generated = generate()
    per_operation = Counter(case.operation for case in generated.cases)
    made = {(c.operation, c.path, c.constraint) for c in generated.cases}
    skipped = {(s.operation, s.path, s.constraint) for s in generated.skips}
    missing = [
        f"{operation} {path} {constraint}"
        for operation in operations()
        for path, constraint in expected_constraints(operation)
        if (operation, path, constraint) not in made | skipped
    ]
    print(f"\n{len(generated.cases)} cases over {len(per_operation)} operations:")
    for operation, count in sorted(per_operation.items()):
        print(f"  {operation}: {count}")
    print(f"{len(generated.skips)} constraints no single request can break:")
    for skip in generated.skips:
        print(f"  {skip.operation} {skip.path} {skip.constraint}: {skip.reason}")
    assert sorted(per_operation) == sorted(operations())
    assert not missing, "no case and no reason for:\n" + "\n".join(missing)


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    # One keep-alive client: some 1,700 requests in a few seconds.
    with httpx.Client(timeout=10.0) as client:
        yield client


def judge(response: httpx.Response, member: str) -> list[str]:
    """What is wrong with the answer to an invalid request, as botocore would parse it."""
    problems: list[str] = []
    text = response.text[:300]
    if response.status_code != 400:
        problems.append(f"status {response.status_code}, not 400: {text}")
    error_type = response.headers.get("x-amzn-ErrorType", "")
    # botocore reads the code up to the first ":"; anything after is a URI.
    if not error_type.startswith("ValidationException"):
        problems.append(f"x-amzn-ErrorType {error_type!r}, not ValidationException")
    try:
        body = response.json()
    except ValueError:
        return [*problems, f"body is not JSON: {text!r}"]
    message = body.get("message") if isinstance(body, dict) else None
    if not isinstance(message, str):
        problems.append(f"no string 'message' in {text}")
    elif member not in message:
        problems.append(f"message does not name {member!r}: {message[:300]!r}")
    return problems


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_invalid_input_is_a_validation_exception(
    case: Case, stack: Stack, http: httpx.Client
) -> None:
    request = request_for(case.operation, case.params)
    headers = {"Content-Type": "application/json"} if request.body is not None else {}
    problems: list[str] = []
    for target in ("frontdoor", OWNER.get(case.operation, "command")):
        response = http.request(
            request.method,
            stack.url(target) + request.target,
            content=request.body,
            headers=headers,
        )
        problems.extend(f"{target}: {problem}" for problem in judge(response, case.member))
    assert not problems, f"{request.method} {request.target[:200]}\n" + "\n".join(problems)


# -- through boto3, with its own checks off ----------------------------------------------


@pytest.fixture
def feature(evidently: Any, unique: str) -> tuple[str, str]:
    project = f"conf-p-{unique}"
    evidently.create_project(name=project)
    evidently.create_feature(project=project, name="F", variations=variations("on", "off"))
    return project, "F"


def test_a_slash_in_a_label_does_not_reach_another_resource(
    unvalidated: Any, evidently: Any, feature: tuple[str, str]
) -> None:
    project, name = feature
    # Sent as P%2Ffeatures%2FF: decoded before routing, it would be DeleteFeature.
    with pytest.raises(unvalidated.exceptions.ValidationException):
        unvalidated.delete_project(project=f"{project}/features/{name}")
    with pytest.raises(unvalidated.exceptions.ValidationException):
        unvalidated.delete_feature(project=f"{project}/features/{name}/x", feature=name)
    assert evidently.get_feature(project=project, feature=name)["feature"]["name"] == name


def test_an_arn_of_another_region_or_account_is_invalid(
    unvalidated: Any, evidently: Any, feature: tuple[str, str]
) -> None:
    project, _ = feature
    for arn in (
        f"arn:aws:evidently:eu-west-1:000000000000:project/{project}",
        f"arn:aws:evidently:us-east-1:123456789012:project/{project}",
    ):
        with pytest.raises(unvalidated.exceptions.ValidationException):
            unvalidated.get_project(project=arn)
        with pytest.raises(unvalidated.exceptions.ValidationException):
            unvalidated.tag_resource(resourceArn=arn, tags={"k": "v"})
    assert (
        "k" not in evidently.list_tags_for_resource(resourceArn=f"{ARN}:project/{project}")["tags"]
    )


def test_invalid_bodies_change_nothing(
    unvalidated: Any, evidently: Any, feature: tuple[str, str]
) -> None:
    project, name = feature
    with pytest.raises(unvalidated.exceptions.ValidationException, match="entityId"):
        unvalidated.evaluate_feature(project=project, feature=name, entityId="")
    with pytest.raises(unvalidated.exceptions.ValidationException, match="variations"):
        unvalidated.create_feature(project=project, name="G", variations=[])
    with pytest.raises(unvalidated.exceptions.ValidationException, match="description"):
        unvalidated.update_feature(project=project, feature=name, description="d" * 161)
    listed = evidently.list_features(project=project)["features"]
    assert [f["name"] for f in listed] == [name]
    assert (
        evidently.get_feature(project=project, feature=name)["feature"].get("description") is None
    )
