"""Postgres stopped under the running stack, then started again.

The control plane answers 503 ServiceUnavailableException at once (boto3 retries
it) and its /readyz says why; evaluation goes on from its projection; everything
recovers without a restart once Postgres is back.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from botocore.exceptions import ClientError

from infra.launch.infrastructure import Infrastructure
from infra.launch.postgres import EmbeddedPostgres
from infra.launch.stack import Stack
from tests.e2e.helpers import make_feature, propagated

pytestmark = pytest.mark.e2e

# The store bounds every wait on the database to a few seconds (shared/eventstore.py);
# a refused connection fails at once.
PROMPTLY = 5.0
# The feed retries every second: readiness follows within a couple of polls.
RECOVERY = 15.0
# A processor joining its consumer group takes longer.
STARTING = 60.0


# Every service with a /readyz; all follow the event feed from Postgres.
SERVICES = ("command", "evaluation", "results", "processor")


@pytest.fixture
def postgres(infrastructure: Infrastructure, stack: Stack) -> Iterator[EmbeddedPostgres]:
    """The embedded server, with every service ready before and after the test."""
    server = infrastructure.postgres
    if server is None:
        pytest.skip("needs the embedded Postgres, which a test can stop and start")
    # A service still starting would meet the outage in its start-up, which is another
    # fault (under `verdict up`, supervision restarts it), not this test's.
    _all_ready(stack)
    try:
        yield server
    finally:
        if not server.is_running():
            server.start()
        _all_ready(stack)


def _all_ready(stack: Stack) -> None:
    for name in SERVICES:
        assert stack.services[name].process.poll() is None, f"{name} exited"
        _eventually(lambda name=name: _ready(stack, name)[0] == 200, STARTING)  # type: ignore[misc]


def _ready(stack: Stack, name: str) -> tuple[int, dict[str, Any]]:
    try:
        response = httpx.get(f"{stack.url(name)}/readyz", timeout=5.0)
    except httpx.TransportError:  # still starting
        return 0, {}
    body: dict[str, Any] = response.json()
    return response.status_code, body


def _eventually(check: Callable[[], bool], timeout: float) -> float:
    """Seconds until ``check`` held; fails after ``timeout``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"not within {timeout}s")
        time.sleep(0.1)
    return time.monotonic() - started


def test_writes_answer_503_while_postgres_is_down_and_recover_without_a_restart(
    stack: Stack, evidently: Any, postgres: EmbeddedPostgres, unique: str
) -> None:
    project = f"outage-{unique}"
    evidently.create_project(name=project)
    feature = make_feature(evidently, project)
    propagated(stack)
    served = evidently.evaluate_feature(project=project, feature="f", entityId="u-1")
    history = f"{stack.url('frontdoor')}/history/{quote(feature['arn'], safe='')}"
    assert httpx.get(history).status_code == 200
    pids = {name: s.process.pid for name, s in stack.services.items()}

    postgres.stop()

    # A write: 503 with a clear message, promptly (the client does not retry here).
    started = time.monotonic()
    with pytest.raises(ClientError) as refused:
        evidently.update_feature(project=project, feature="f", description="during the outage")
    assert time.monotonic() - started < PROMPTLY
    error = refused.value.response
    assert error["Error"]["Code"] == "ServiceUnavailableException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert "database is unreachable" in error["Error"]["Message"]
    # A read that needs the database: the same answer. One from the view: answered.
    assert httpx.get(history).status_code == 503
    assert evidently.get_feature(project=project, feature="f")["feature"]["name"] == "f"

    # The command service says it is not ready, and why.
    _eventually(lambda: _ready(stack, "command")[0] == 503, PROMPTLY)
    status, body = _ready(stack, "command")
    assert status == 503 and body["reason"] == "database unreachable"

    # Evaluation answers from its projection, and stays ready while saying it is degraded.
    for _ in range(20):
        got = evidently.evaluate_feature(project=project, feature="f", entityId="u-1")
        assert (got["variation"], got["reason"]) == (served["variation"], served["reason"])
    _eventually(lambda: "degraded" in _ready(stack, "evaluation")[1], PROMPTLY)
    status, body = _ready(stack, "evaluation")
    assert status == 200 and body["degraded"] == "database unreachable"

    postgres.start()

    def written() -> bool:
        try:
            evidently.update_feature(project=project, feature="f", description="after")
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ServiceUnavailableException"
            return False
        return True

    print(f"a write succeeded {_eventually(written, RECOVERY):.1f}s after Postgres started")
    _eventually(lambda: _ready(stack, "command")[0] == 200, RECOVERY)
    assert "reason" not in _ready(stack, "command")[1]
    assert evidently.get_feature(project=project, feature="f")["feature"]["description"] == "after"
    assert httpx.get(history).status_code == 200
    # The followers catch up by themselves too: the change reaches evaluation.
    propagated(stack, ("evaluation", "results"), timeout=RECOVERY)
    assert "degraded" not in _ready(stack, "evaluation")[1]
    # Nobody was restarted to get there.
    assert {name: s.process.pid for name, s in stack.services.items()} == pids
