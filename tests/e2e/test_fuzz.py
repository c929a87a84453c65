"""Schemathesis over the OpenAPI document, every request signed: no 5xx, nothing off-schema.

Every operation of the document the front door serves (``GET /openapi.json``,
``shared/edge/openapi.py``) is called on a stack with signature checking on, with
schemathesis's coverage cases (boundaries, invalid values, other methods: deterministic)
and generated requests, each signed with SigV4 by botocore's signer over the request
exactly as it goes on the wire. Every response must be a non-5xx whose status, content
type, headers and body the document declares for that operation, and no signed request
may be refused for its signature.

A project with a feature, a running launch and a running experiment, and a segment, exist
before the run, and generated path labels name them about half the time, so requests get
past the "does not exist" checks too.

The run is bounded for the suite: ``VERDICT_FUZZ_EXAMPLES`` generated requests per
operation (default 5), from the fixed seed ``VERDICT_FUZZ_SEED``. README ("Security")
says how to run it longer.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest
import requests
import schemathesis
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from infra.launch.stack import Stack
from shared.domain.access import Scope
from shared.edge.openapi import openapi_document
from tests.e2e.helpers import make_experiment, make_feature, make_launch, new_key, secured_stack

pytestmark = pytest.mark.e2e

EXAMPLES = int(os.environ.get("VERDICT_FUZZ_EXAMPLES", "5"))
SEED = int(os.environ.get("VERDICT_FUZZ_SEED", "20210201"))
# No 5xx, and status, content type, headers and body as the document declares them.
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)


class SigV4(requests.auth.AuthBase):
    """Signs the prepared request, the one `requests` sends, as boto3 signs: the host,
    the content type, the x-amz-* headers and the body's SHA-256."""

    signer: SigV4Auth | None = None

    def use(self, key_id: str, secret: str) -> None:
        self.signer = SigV4Auth(Credentials(key_id, secret), "evidently", "us-east-1")

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        assert self.signer is not None, "no key yet: the `api` fixture creates one"
        body = prepared.body or b""
        signed = AWSRequest(
            method=prepared.method,
            url=prepared.url,
            data=body.encode() if isinstance(body, str) else body,
            headers={
                name: value
                for name, value in prepared.headers.items()
                if name.lower() == "content-type" or name.lower().startswith("x-amz-")
            },
        )
        self.signer.add_auth(signed)
        for name in ("Authorization", "X-Amz-Date"):
            prepared.headers[name] = signed.headers[name]
        return prepared


def signature_accepted(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case[Any]
) -> bool | None:
    """Every request carries an admin key's signature, so a refusal means the server and
    botocore's signer disagree about the canonical request: a finding, and one that would
    hide every other behind a 403 the document allows."""
    error = "".join(response.headers.get("x-amzn-errortype", []))
    refused = ("MissingAuthentication", "InvalidSignature", "UnrecognizedClient", "AccessDenied")
    if error.startswith(refused):
        raise AssertionError(f"the signed request was refused: {error}: {response.text}")
    return None


# The operations are needed at collection, before any stack runs, so the schema is the
# front door's document generated in process; the first test checks the stack serves
# exactly it. (schemathesis.pytest.from_fixture, which would load it from the stack,
# reads the private `_nodeid` that pytest 9.2 no longer has.)
schema = schemathesis.openapi.from_dict(
    openapi_document(),
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"max-examples": EXAMPLES, "deterministic": True, "database": "none"},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    ),
)
signer = SigV4()
schema.auth.set_from_requests(signer)
# Labels and ARNs of resources that exist: filled by the `api` fixture.
known: dict[str, list[str]] = {}


@schema.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    """The generated labels, or (as often) the names of existing resources."""
    # Deletions name only generated labels, so the resources stay for the operations run
    # after them (the document's order); UntagResource deletes only tags.
    deletes = context.operation is not None and context.operation.method.upper() == "DELETE"
    if not parameters or (deletes and "resourceArn" not in parameters):
        return st.just(parameters)
    existing = st.fixed_dictionaries(
        {
            label: st.sampled_from(known[label]) if known.get(label) else st.just(value)
            for label, value in parameters.items()
        }
    )
    return st.sampled_from([st.just(parameters), existing]).flatmap(lambda chosen: chosen)


@pytest.fixture(scope="module")
def secured(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # One key sends everything: at Evidently's 10 TPS for the control plane the run would
    # mostly test the rate limiter (tests/e2e/test_auth.py covers it).
    home = tmp_path_factory.mktemp("fuzz-home")
    with secured_stack(stack, home, rate_limits="off") as running:
        yield running


@pytest.fixture(scope="module")
def api(secured: Stack) -> str:
    """The secured front door's URL, with a signing key and resources to find."""
    admin = new_key(secured, Scope.ADMIN)
    signer.use(admin.key_id, admin.secret)
    url = secured.url("frontdoor")
    client = boto3.client(
        "evidently",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=admin.key_id,
        aws_secret_access_key=admin.secret,
        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
    )
    suffix = uuid.uuid4().hex[:6]
    project, segment = f"fuzz-{suffix}", f"fuzz-s-{suffix}"
    arns = [client.create_project(name=project)["project"]["arn"]]
    arns.append(make_feature(client, project, "f")["arn"])
    arns.append(make_launch(client, project, "l")["arn"])
    arns.append(make_experiment(client, project, "e")["arn"])
    arns.append(client.create_segment(name=segment, pattern='{"plan": ["pro"]}')["segment"]["arn"])
    client.start_launch(project=project, launch="l")
    end = datetime.now(UTC) + timedelta(days=1)
    client.start_experiment(project=project, experiment="e", analysisCompleteTime=end)
    known.update(
        project=[project],
        feature=["f"],
        launch=["l"],
        experiment=["e"],
        segment=[segment],
        resourceArn=arns,
        # GET /labs/{id}/experiments: the lab of every experiment that names none.
        id=["DEFAULT"],
    )
    return url


def test_the_front_door_serves_the_document_fuzzed(api: str) -> None:
    assert httpx.get(f"{api}/openapi.json").json() == openapi_document()


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_its_schema_says(case: schemathesis.Case[Any], api: str) -> None:
    case.call_and_validate(base_url=api, additional_checks=[signature_accepted])


@pytest.mark.parametrize("as_of", ["1e12", "1.4e308"])
def test_an_analysis_as_of_past_year_9999_is_a_validation_error(api: str, as_of: str) -> None:
    project = known["project"][0]
    answer = requests.get(
        f"{api}/projects/{project}/experiments/e/analysis",
        params={"asOf": as_of},
        auth=signer,
        timeout=10,
    )
    assert answer.status_code == 400, answer.text


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/projects", {"name": "fuzz-nul-{suffix}", "description": "a\x00b"}),
        ("PATCH", "/projects/{project}", {"description": "a\x00b"}),
        (
            "POST",
            "/projects/{project}/features",
            {
                "name": "nul-{suffix}",
                "variations": [{"name": "v", "value": {"stringValue": "\x00"}}],
            },
        ),
        (
            "PATCH",
            "/projects/{project}",
            {"appConfigResource": {"applicationId": "\x00abcdefg", "environmentId": "abcdefg"}},
        ),
    ],
)
def test_a_nul_in_a_stored_string_is_not_a_server_error(
    api: str, method: str, path: str, body: dict[str, Any]
) -> None:
    suffix, project = uuid.uuid4().hex[:6], known["project"][0]
    if "name" in body:
        body = {**body, "name": body["name"].format(suffix=suffix)}
    answer = requests.request(
        method, api + path.format(project=project), json=body, auth=signer, timeout=10
    )
    assert answer.status_code == 400, answer.text
    assert "U+0000" in answer.text
