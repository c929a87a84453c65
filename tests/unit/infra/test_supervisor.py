"""The supervisor's back-off and its restart decisions, on real short-lived processes."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from infra.launch.stack import ServiceProcess
from infra.launch.supervisor import Backoff, Supervisor


def test_backoff_doubles_to_its_cap_and_starts_over_after_a_healthy_minute() -> None:
    backoff = Backoff(initial=0.5, maximum=30.0, reset_after=60.0)
    delays = []
    previous = None
    for _ in range(9):
        previous = backoff.delay(previous, ran_for=1.0)
        delays.append(previous)
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert backoff.delay(30.0, ran_for=59.9) == 30.0
    assert backoff.delay(30.0, ran_for=60.0) == 0.5


def _process(code: int | None) -> subprocess.Popen[bytes]:
    """A child that exits at once with ``code``, or runs until stopped (None)."""
    script = "import time; time.sleep(60)" if code is None else f"raise SystemExit({code})"
    return subprocess.Popen([sys.executable, "-c", script])


@dataclass
class FakeStack:
    """What the supervisor uses of a Stack; started services run a sleeping child."""

    services: dict[str, ServiceProcess] = field(default_factory=dict)
    restarts: Counter[str] = field(default_factory=Counter)
    lock: threading.RLock = field(default_factory=threading.RLock)
    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_service(self, name: str) -> ServiceProcess:
        service = ServiceProcess(name, "", "/healthz", _process(None))
        self.started.append(service.process)
        self.services[name] = service
        return service


@pytest.fixture
def stack() -> Iterator[FakeStack]:
    fake = FakeStack()
    yield fake
    for process in fake.started:
        process.kill()
        process.wait()


def _exited(stack: FakeStack, name: str, code: int) -> ServiceProcess:
    service = ServiceProcess(name, "", "/healthz", _process(code), started=0.0)
    service.process.wait()
    stack.services[name] = service
    return service


def test_an_exited_service_is_restarted_after_its_backoff_and_counted(stack: FakeStack) -> None:
    supervisor = Supervisor(stack, Backoff(initial=0.5))  # type: ignore[arg-type]
    dead = _exited(stack, "processor", 70)
    supervisor.check(now=10.0)
    assert stack.services["processor"] is dead  # waiting out the back-off
    supervisor.check(now=10.4)
    assert stack.services["processor"] is dead
    supervisor.check(now=10.5)
    assert stack.services["processor"] is not dead
    assert stack.restarts == Counter({"processor": 1})


def test_quick_failures_wait_longer_each_time(stack: FakeStack) -> None:
    supervisor = Supervisor(stack, Backoff(initial=0.5))  # type: ignore[arg-type]
    _exited(stack, "processor", 70)
    supervisor.check(now=1.0)
    supervisor.check(now=1.5)  # restarted; it dies again at once
    _exited(stack, "processor", 70).started = 1.5
    supervisor.check(now=2.0)
    supervisor.check(now=2.9)
    assert stack.restarts["processor"] == 1  # now 1 s, not 0.5
    supervisor.check(now=3.0)
    assert stack.restarts["processor"] == 2


def test_a_service_taken_out_of_the_stack_is_not_restarted(stack: FakeStack) -> None:
    supervisor = Supervisor(stack, Backoff(initial=0.5))  # type: ignore[arg-type]
    _exited(stack, "processor", 70)
    supervisor.check(now=1.0)
    del stack.services["processor"]  # as stop_service and kill_service do, first
    supervisor.check(now=5.0)
    assert "processor" not in stack.services and not stack.restarts
