"""Session fixtures: real infrastructure, started once, and the running stack.

Postgres and Kafka are the servers named by DATABASE_URL and
KAFKA_BOOTSTRAP_SERVERS when set, testcontainers where a Docker engine
answers, and otherwise the embedded PostgreSQL wheel and Apache Kafka broker.
Nothing here is mocked.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.launch.infrastructure import Infrastructure, provide
from infra.launch.ports import free_port
from infra.launch.stack import Stack
from shared.config import Settings

REPO = Path(__file__).resolve().parent.parent
# Shared across runs: fetching the broker's jars from Maven Central takes a while.
JARS = REPO / ".verdict" / "kafka-jars"

os.environ.setdefault("AWS_ACCESS_KEY_ID", "verdict")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "verdict")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

# Short consumer-group timeouts: a rejoin after a kill takes seconds, not half a minute.
TEST_SESSION_TIMEOUT_MS = 6000
# Short buckets so a test sees a results series of several points.
TEST_BUCKET_SECONDS = 2


@pytest.fixture(scope="session")
def infrastructure(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infrastructure]:
    home = tmp_path_factory.mktemp("verdict-home")
    infra = provide(Settings.from_env(), containers=True, home=home, jars=JARS)
    try:
        yield infra
    finally:
        infra.stop()


@pytest.fixture(scope="session")
def stack(
    infrastructure: Infrastructure, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    settings = Settings(
        port=free_port(),
        command_port=free_port(),
        evaluation_port=free_port(),
        results_port=free_port(),
        processor_port=free_port(),
        topic_partitions=4,
        kafka_session_timeout_ms=TEST_SESSION_TIMEOUT_MS,
        bucket_seconds=TEST_BUCKET_SECONDS,
        snapshot_interval=0.25,
        results_min_entities=10,
        results_min_conversions=3,
        results_min_seconds=0,
        # The suite's clients speak unsigned (raw httpx beside boto3); signing, keys and
        # scopes are tested on a stack of their own (tests/e2e/test_auth.py).
        auth=False,
        home=tmp_path_factory.mktemp("stack-home"),
        database_url=infrastructure.database_url,
        kafka_bootstrap_servers=infrastructure.kafka_bootstrap_servers,
    )
    running = Stack(settings, infrastructure, tmp_path_factory.mktemp("logs"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def evidently(stack: Stack):  # type: ignore[no-untyped-def]
    import boto3
    from botocore.config import Config

    return boto3.client(
        "evidently",
        endpoint_url=stack.url("frontdoor"),
        region_name="us-east-1",
        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
    )


@pytest.fixture(scope="session")
def unvalidated(stack: Stack):  # type: ignore[no-untyped-def]
    """A boto3 client that skips its own parameter checks, so the server's are tested."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "evidently",
        endpoint_url=stack.url("frontdoor"),
        region_name="us-east-1",
        config=Config(
            inject_host_prefix=False, retries={"max_attempts": 1}, parameter_validation=False
        ),
    )


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:8]
