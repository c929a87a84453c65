"""The edge in process: inputs reach handlers validated, errors leave in AWS's shape."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from shared.domain.arn import ArnScheme
from shared.edge.app import Call, Edge, Reply
from shared.edge.routing import Service
from shared.errors import ResourceNotFoundException

ARNS = ArnScheme("us-east-1", "000000000000")
seen: list[Call] = []


def get_project(call: Call) -> Any:
    seen.append(call)
    if call.input["project"] == "ghost":
        raise ResourceNotFoundException("project ghost does not exist", "ghost", "Project")
    return Reply({"project": {"name": call.input["project"]}}, headers=(("ETag", '"1"'),))


async def update_feature(call: Call) -> Any:
    seen.append(call)
    return {"feature": dict(call.input)}


def echo(call: Call) -> Any:
    seen.append(call)
    return {"input": dict(call.input)}


def broken(call: Call) -> Any:
    raise RuntimeError("a bug")


def edge() -> Edge:
    handlers = {
        "GetProject": get_project,
        "UpdateFeature": update_feature,
        "ListProjects": broken,
        "CreateExperiment": echo,
        "ListLabExperiments": echo,
    }
    from services.command.app import HANDLERS

    stub = dict.fromkeys([op for op in HANDLERS if op not in handlers], broken)
    return Edge(Service.COMMAND, {**stub, **handlers}, ARNS)


def request(
    method: str, raw_path: str, body: bytes = b"", query: bytes = b""
) -> tuple[int, dict[str, str], Any]:
    scope = {
        "type": "http",
        "method": method,
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query,
        "headers": [(b"x-request-id", b"rid-1")],
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(edge()(scope, receive, send))
    headers = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], headers, orjson.loads(sent[1]["body"])


def test_a_valid_call_reaches_its_handler() -> None:
    status, headers, body = request("GET", "/projects/shop")
    assert status == 200 and body == {"project": {"name": "shop"}}
    assert headers["etag"] == '"1"' and headers["x-amzn-requestid"] == "rid-1"


def test_an_arn_label_becomes_its_name() -> None:
    arn = "arn%3Aaws%3Aevidently%3Aus-east-1%3A000000000000%3Aproject%2Fshop"
    assert request("GET", f"/projects/{arn}")[2] == {"project": {"name": "shop"}}


@pytest.mark.parametrize(
    "label",
    [
        "P%2Ffeatures%2FF",
        "a%20b%21",
        "arn%3Aaws%3Aevidently%3Aeu-west-1%3A000000000000%3Aproject%2Fshop",
        "arn%3Aaws%3Aevidently%3Aus-east-1%3A111111111111%3Aproject%2Fshop",
        "arn%3Aaws%3Aevidently%3Aus-east-1%3A000000000000%3Asegment%2Fs",
        "%FF",
        "",
        "x" * 128,
    ],
)
def test_a_bad_label_is_a_validation_error_that_reaches_no_handler(label: str) -> None:
    seen.clear()
    status, headers, body = request("DELETE", f"/projects/{label}")
    assert status == 400 and headers["x-amzn-errortype"] == "ValidationException"
    assert "project" in body["message"]
    assert seen == []


def test_a_body_member_cannot_override_a_label() -> None:
    status, _, body = request(
        "PATCH", "/projects/shop/features/f", orjson.dumps({"project": "other", "feature": "g"})
    )
    assert status == 200
    assert body["feature"] == {"project": "shop", "feature": "f"}


def test_unknown_body_members_are_dropped() -> None:
    status, _, body = request(
        "PATCH", "/projects/shop/features/f", orjson.dumps({"description": "d", "junk": 1})
    )
    assert status == 200 and body["feature"]["description"] == "d"
    assert "junk" not in body["feature"]


@pytest.mark.parametrize(
    ("body", "field"),
    [(b"{not json", "body"), (b"[1]", "body"), (b'{"description": 5}', "description")],
)
def test_a_bad_body(body: bytes, field: str) -> None:
    status, headers, out = request("PATCH", "/projects/shop/features/f", body)
    assert status == 400 and headers["x-amzn-errortype"] == "ValidationException"
    assert field in out["message"]


def test_errors_in_their_shapes() -> None:
    status, headers, body = request("GET", "/projects/ghost")
    assert (status, headers["x-amzn-errortype"]) == (404, "ResourceNotFoundException")
    assert body["resourceType"] == "Project"
    status, headers, body = request("GET", "/projects")
    assert (status, headers["x-amzn-errortype"]) == (500, "InternalServerException")
    assert "a bug" not in body["message"]
    status, headers, _ = request("GET", "/nowhere")
    assert (status, headers["x-amzn-errortype"]) == (404, "UnknownOperationException")
    status, headers, _ = request("PUT", "/projects/shop")
    assert (status, headers["x-amzn-errortype"]) == (405, "UnknownOperationException")


def test_an_operation_of_another_service_is_unknown_here() -> None:
    status, headers, body = request("POST", "/projects/p/evaluations/f", b"{}")
    assert (status, headers["x-amzn-errortype"]) == (404, "UnknownOperationException")
    assert "evaluation service" in body["message"]


def test_query_members_are_typed_by_their_shape() -> None:
    status, _, body = request("GET", "/projects", query=b"maxResults=abc")
    assert status == 400 and "maxResults" in body["message"]
    status, _, body = request("GET", "/projects", query=b"maxResults=51")
    assert status == 400 and "maxResults" in body["message"]
    status, _, body = request("GET", "/projects", query=b"nextToken=")
    assert status == 400 and "nextToken" in body["message"]


def test_every_handler_must_be_routed() -> None:
    from services.results.app import HANDLERS

    with pytest.raises(ValueError, match="not in the route table"):
        Edge(Service.RESULTS, {**HANDLERS, "Nope": broken}, ARNS)
    with pytest.raises(ValueError, match="no handler"):
        Edge(Service.RESULTS, {}, ARNS)


def test_an_arn_with_a_trailing_newline_is_refused() -> None:
    arn = "arn%3Aaws%3Aevidently%3Aus-east-1%3A000000000000%3Aproject%2Fshop%0A"
    status, _, body = request("GET", f"/projects/{arn}")
    assert status == 400 and "project" in body["message"]


def test_query_integers_are_ascii_digits() -> None:
    for text in (b"1_0", b"%201", "\u0661\u0660".encode()):
        status, _, body = request("GET", "/projects", query=b"maxResults=" + text)
        assert status == 400 and "maxResults" in body["message"], text


def test_a_malformed_evidently_arn_is_a_validation_error() -> None:
    arn = "arn%3Aaws%3Aevidently%3Aus-east-1%3A000000000000%3Aproject%2Fp%2Ffeature%2F"
    status, headers, body = request("GET", f"/tags/{arn}")
    assert (status, headers["x-amzn-errortype"]) == (400, "ValidationException")
    assert "resourceArn" in body["message"]


def _experiment(**members: Any) -> bytes:
    goal: dict[str, Any] = {
        "metricDefinition": {"name": "m", "entityIdKey": "u", "valueKey": "v"},
        **members.pop("goal", {}),
    }
    treatment = {"name": "t", "feature": "f", "variation": "a"}
    body = {"name": "e", "treatments": [treatment], "metricGoals": [goal], **members}
    return orjson.dumps(body)


@pytest.mark.parametrize(
    ("members", "where"),
    [
        ({"goal": {"metricType": "MEDIAN"}}, "metricGoals.1.member.metricType"),
        ({"goal": {"role": "OBSERVER"}}, "metricGoals.1.member.role"),
        ({"goal": {"goal": "high"}}, "metricGoals.1.member.goal"),
        ({"goal": {"conversionWindowSeconds": 59}}, "metricGoals.1.member.conversionWindowSeconds"),
        (
            {"goal": {"conversionWindowSeconds": 7776001}},
            "metricGoals.1.member.conversionWindowSeconds",
        ),
        ({"goal": {"cap": {"kind": "ABSOLUTE"}}}, "metricGoals.1.member.cap.value"),
        ({"goal": {"cap": {"kind": "MEDIAN", "value": 1}}}, "metricGoals.1.member.cap.kind"),
        ({"goal": {"funnelSteps": []}}, "metricGoals.1.member.funnelSteps"),
        ({"goal": {"funnelSteps": ["{}"] * 10}}, "metricGoals.1.member.funnelSteps"),
        ({"goal": {"funnelSteps": ["x" * 1025]}}, "metricGoals.1.member.funnelSteps.1.member"),
        (
            {"goal": {"formula": {"operator": "RATIO", "numerator": "a"}}},
            "metricGoals.1.member.formula.denominator",
        ),
        ({"goal": {"retentionDay": 91}}, "metricGoals.1.member.retentionDay"),
        ({"exposureEvent": {"eventPattern": "{}"}}, "exposureEvent.entityIdKey"),
        ({"exposureEvent": {"eventPattern": "", "entityIdKey": "u"}}, "exposureEvent.eventPattern"),
        ({"hypothesis": "h" * 2049}, "hypothesis"),
        ({"links": {f"k{i}": "v" for i in range(21)}}, "links"),
        ({"links": {"k" * 65: "v"}}, "links.key"),
        ({"links": {"k": "v" * 2049}}, "links.k"),
        ({"subjectType": "a b"}, "subjectType"),
        ({"subjectType": ""}, "subjectType"),
        ({"parentId": "x" * 128}, "parentId"),
        ({"parentId": "lab/one"}, "parentId"),
    ],
)
def test_verdicts_experiment_members_are_validated_from_the_model(
    members: dict[str, Any], where: str
) -> None:
    seen.clear()
    status, headers, body = request("POST", "/projects/shop/experiments", _experiment(**members))
    assert status == 400 and headers["x-amzn-errortype"] == "ValidationException"
    assert f"'{where}'" in body["message"]
    assert seen == []


def test_every_experiment_member_passes_the_edge() -> None:
    seen.clear()
    goal = {
        "metricType": "FORMULA",
        "role": "GUARDRAIL",
        "goal": 1.5,
        "conversionWindowSeconds": 60,
        "cap": {"kind": "PERCENTILE", "value": 99},
        "funnelSteps": ["{}"] * 9,
        "formula": {"operator": "DIFFERENCE", "numerator": "a", "denominator": "b"},
        "retentionDay": 90,
    }
    members = {
        "exposureEvent": {"eventPattern": "{}", "entityIdKey": "u"},
        "hypothesis": "h" * 2048,
        "links": {"k" * 64: "v" * 2048},
        "subjectType": "customer_id",
        "parentId": "Lab-1.a_b",
    }
    status, _, body = request(
        "POST", "/projects/shop/experiments", _experiment(goal=goal, **members)
    )
    assert status == 200, body
    assert body["input"]["metricGoals"][0]["formula"]["operator"] == "DIFFERENCE"
    assert body["input"]["parentId"] == "Lab-1.a_b"


def test_a_labs_experiments_route_its_label_and_pages() -> None:
    status, _, body = request("GET", "/labs/home-lab/experiments", query=b"maxResults=5")
    assert status == 200 and body["input"] == {"lab": "home-lab", "maxResults": 5}
    for raw, query in (("a%20b", b""), ("x" * 128, b""), ("ok", b"maxResults=101")):
        status, headers, body = request("GET", f"/labs/{raw}/experiments", query=query)
        assert (status, headers["x-amzn-errortype"]) == (400, "ValidationException")
