"""A supervised stack restarts a service that dies, and counts and logs it.

The session's stack is unsupervised (a crash should fail the test that caused
it); this test turns supervision on for itself and off again.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from infra.launch.stack import Stack
from infra.launch.supervisor import Backoff

pytestmark = pytest.mark.e2e


@pytest.fixture
def supervised(stack: Stack) -> Iterator[Stack]:
    stack.supervise(Backoff(initial=0.5))
    try:
        yield stack
    finally:
        stack.unsupervise()
        # Whatever happened, leave a running processor for the tests after this one.
        running = stack.services.get("processor")
        if running is None or running.process.poll() is not None:
            stack.start_service("processor")
        stack.wait_healthy("processor")


def _restarts_metric(stack: Stack, name: str) -> float:
    text = httpx.get(f"{stack.url(name)}/metrics", timeout=5.0).text
    line = f'verdict_service_restarts_total{{service="{name}"}} '
    for row in text.splitlines():
        if row.startswith(line):
            return float(row[len(line) :])
    raise AssertionError(f"{name} exports no {line.strip()}")


def test_a_killed_processor_is_restarted_counted_and_logged(supervised: Stack, caplog: Any) -> None:
    caplog.set_level(logging.WARNING, logger="infra.launch.supervisor")
    stack = supervised
    before = stack.restarts["processor"]
    victim = stack.services["processor"].process
    assert _restarts_metric(stack, "processor") == before

    os.killpg(victim.pid, signal.SIGKILL)  # not kill_service: that one is deliberate

    deadline = time.monotonic() + 30.0
    while stack.services["processor"].process is victim:
        assert time.monotonic() < deadline, "the processor was not restarted"
        time.sleep(0.1)
    stack.wait_healthy("processor")
    assert stack.restarts["processor"] == before + 1
    assert _restarts_metric(stack, "processor") == before + 1
    messages = [r.getMessage() for r in caplog.records if r.name == "infra.launch.supervisor"]
    assert any(m.startswith(f"processor exited with {-signal.SIGKILL}") for m in messages)
    assert f"restarting processor (restart {before + 1})" in messages
    ready = httpx.get(f"{stack.url('processor')}/readyz", timeout=5.0)
    deadline = time.monotonic() + 60.0
    while ready.status_code != 200:
        assert time.monotonic() < deadline, f"the restarted processor is not ready: {ready.text}"
        time.sleep(0.5)
        ready = httpx.get(f"{stack.url('processor')}/readyz", timeout=5.0)


def test_a_deliberate_stop_is_not_fought(supervised: Stack) -> None:
    stack = supervised
    before = stack.restarts["processor"]
    stack.kill_service("processor")
    time.sleep(2.0)  # four times the first back-off
    assert "processor" not in stack.services
    assert stack.restarts["processor"] == before
    stack.start_service("processor")
    stack.wait_healthy("processor")
