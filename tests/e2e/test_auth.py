"""Signing, keys and scopes through stock boto3, on a stack of its own with checking on.

The suite's main stack runs with VERDICT_AUTH=off (its raw-HTTP checks are unsigned);
this module starts the HTTP services again, checking on, beside it on the same
Postgres and Kafka, and creates its keys as an operator would (``infra/keys.py``, what
``verdict keys create`` runs).
"""

from __future__ import annotations

import asyncio
import configparser
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from infra import keys
from infra.launch.stack import Stack
from shared.domain.access import Scope
from tests.e2e.helpers import HTTP_SERVICES, make_feature, new_key, secured_stack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def secured(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # Writes held to 2 per second (burst 10) per key, so that throttling shows whatever
    # the machine's speed; the other classes keep Evidently's quotas.
    home = tmp_path_factory.mktemp("secured-home")
    with secured_stack(stack, home, rate_limits="Write=2:10") as running:
        yield running


def client(stack: Stack, key_id: str, secret: str) -> Any:
    return boto3.client(
        "evidently",
        endpoint_url=stack.url("frontdoor"),
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
    )


def code_of(call: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call()
    return str(caught.value.response["Error"]["Code"])


def test_each_failure_gets_its_aws_code_and_the_right_key_succeeds(secured: Stack) -> None:
    admin = new_key(secured, Scope.ADMIN)
    good = client(secured, admin.key_id, admin.secret)
    good.create_project(name="auth-codes")
    assert good.get_project(project="auth-codes")["project"]["name"] == "auth-codes"

    wrong_secret = client(secured, admin.key_id, "x" * 40)
    assert code_of(lambda: wrong_secret.list_projects()) == "InvalidSignatureException"
    unknown = client(secured, "VKIA" + "A" * 16, "x" * 40)
    assert code_of(lambda: unknown.list_projects()) == "UnrecognizedClientException"
    unsigned = httpx.post(f"{secured.url('frontdoor')}/projects", json={"name": "sneaky"})
    assert unsigned.status_code == 403
    assert unsigned.headers["x-amzn-errortype"].startswith("MissingAuthenticationTokenException")
    assert code_of(lambda: good.get_project(project="sneaky")) == "ResourceNotFoundException"


def test_scoped_keys_reach_only_what_they_may(secured: Stack) -> None:
    admin = new_key(secured, Scope.ADMIN)
    operator = client(secured, admin.key_id, admin.secret)
    for project in ("auth-p", "auth-q"):
        operator.create_project(name=project)
        make_feature(operator, project, "f")
    data = new_key(secured, Scope.DATA, ("auth-p",))
    reader = new_key(secured, Scope.READ)
    app = client(secured, data.key_id, data.secret)
    assert app.evaluate_feature(project="auth-p", feature="f", entityId="u1")["variation"]
    assert (
        code_of(lambda: app.evaluate_feature(project="auth-q", feature="f", entityId="u1"))
        == "AccessDeniedException"
    )
    assert code_of(lambda: app.get_feature(project="auth-p", feature="f")) == (
        "AccessDeniedException"
    )
    with pytest.raises(app.exceptions.AccessDeniedException):
        app.delete_feature(project="auth-p", feature="f")
    viewer = client(secured, reader.key_id, reader.secret)
    assert {p["name"] for p in viewer.list_projects()["projects"]} >= {"auth-p", "auth-q"}
    assert code_of(lambda: viewer.delete_project(project="auth-q")) == "AccessDeniedException"
    # Every service checks, not only the front door.
    direct = httpx.get(f"{secured.url('command')}/projects/auth-p")
    assert direct.status_code == 403


def test_a_revoked_key_stops_working_within_a_second(secured: Stack) -> None:
    key = new_key(secured, Scope.READ)
    user = client(secured, key.key_id, key.secret)
    user.list_projects()
    asyncio.run(keys.revoke(secured.infrastructure.database_url, secured.settings, key.key_id))
    revoked_at = time.monotonic()
    while True:
        try:
            user.list_projects()
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "UnrecognizedClientException"
            break
        assert time.monotonic() - revoked_at < 1.0, "the revoked key still works"
        time.sleep(0.05)  # within the key's read rate: a throttle must not hide the answer
    assert time.monotonic() - revoked_at < 1.0


def test_metrics_need_a_key_and_take_a_bearer_token(secured: Stack) -> None:
    reader = new_key(secured, Scope.READ)
    url = f"{secured.url('evaluation')}/metrics"
    assert httpx.get(url).status_code == 403
    token = {"Authorization": f"Bearer {reader.key_id}:{reader.secret}"}
    assert httpx.get(url, headers=token).status_code == 200
    for service in HTTP_SERVICES:
        assert httpx.get(f"{secured.url(service)}/healthz").status_code == 200
        ready = httpx.get(f"{secured.url(service)}/readyz").json()
        assert ready.get("auth") != "off"


def test_no_port_answers_data_unsigned(secured: Stack) -> None:
    """Every HTTP port of the secured stack, asked for resources without a signature."""
    paths = ["/projects", "/projects/auth-codes", "/segments", "/projects/auth-p/features"]
    for service in HTTP_SERVICES:
        for path in paths:
            answer = httpx.get(f"{secured.url(service)}{path}")
            assert answer.status_code in (403, 404), (service, path, answer.status_code)
            assert "auth-" not in answer.text or "no operation" in answer.text, (service, path)


def test_past_its_rate_a_key_is_throttled_and_others_are_not(secured: Stack) -> None:
    """Past its rate (writes at 2 per second, a burst of 10, on this stack) a key gets 429
    ThrottlingException, which boto3 retries; another key is unaffected."""
    busy_key, calm_key = new_key(secured, Scope.ADMIN), new_key(secured, Scope.ADMIN)
    busy = client(secured, busy_key.key_id, busy_key.secret)
    busy.create_project(name="auth-busy")
    codes = []
    for k in range(40):
        try:
            busy.update_project(project="auth-busy", description=f"update {k}")
            codes.append("ok")
        except ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
    assert codes.count("ok") >= 9 and "ThrottlingException" in codes
    assert set(codes) <= {"ok", "ThrottlingException"}
    calm = client(secured, calm_key.key_id, calm_key.secret)
    assert calm.update_project(project="auth-busy", description="calm")["project"]


def test_the_first_admin_key_is_made_once_and_kept_for_its_owner_only(
    secured: Stack, tmp_path: Path
) -> None:
    """What `verdict up` does on its first start: an admin key if there is none, written as
    an AWS credentials file boto3 reads as it stands, mode 600."""
    url = secured.infrastructure.database_url
    new_key(secured, Scope.ADMIN)  # this installation has one now
    assert asyncio.run(keys.ensure_admin(url, secured.settings)) is None
    key = new_key(secured, Scope.ADMIN)
    path = tmp_path / "admin-credentials"
    keys.write_credentials(path, key, "us-east-1")
    assert path.stat().st_mode & 0o777 == 0o600
    parsed = configparser.ConfigParser()
    parsed.read(path)
    profile = parsed["verdict"]
    signed_in = client(secured, profile["aws_access_key_id"], profile["aws_secret_access_key"])
    assert "projects" in signed_in.list_projects()
