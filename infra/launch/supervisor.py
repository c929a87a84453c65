"""Restart services that exit on their own, as a process supervisor would.

A service may exit by design (the processor exits 70 after a batch it could not
commit, so that it restarts from its last committed offsets) or by accident
(killed by the kernel, a crash). ``verdict up`` restarts it after a back-off of
0.5 s doubling to 30 s, reset once a process has stayed up for a minute, so a
service that fails at once is not restarted in a tight loop. Each restart is
logged and counted: ``Stack.restarts`` here, and ``verdict_service_restarts_total``
on the restarted process's /metrics (``verdict serve --restarts N``).

Deliberate stops are not fought: ``Stack.stop_service`` and ``kill_service``
take a service out of the stack before they signal it, so the supervisor never
sees it die.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from infra.launch.stack import ServiceProcess, Stack

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Backoff:
    """Seconds to wait before restarting a process: doubling, capped, forgiven."""

    initial: float = 0.5
    maximum: float = 30.0
    # A process up this long is healthy again: its next failure starts over.
    reset_after: float = 60.0

    def delay(self, previous: float | None, ran_for: float) -> float:
        """The wait before the next restart, given the last one and how long the
        process that just exited ran."""
        if previous is None or ran_for >= self.reset_after:
            return self.initial
        return min(previous * 2, self.maximum)


class Supervisor:
    """A thread that polls the stack's processes and restarts those that exited."""

    def __init__(self, stack: Stack, backoff: Backoff, poll: float = 0.2) -> None:
        self.stack = stack
        self.backoff = backoff
        self.poll = poll
        self._delays: dict[str, float] = {}
        # name -> (when to restart, the process that exited)
        self._due: dict[str, tuple[float, ServiceProcess]] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="supervisor", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stopping.wait(self.poll):
            try:
                self.check(time.monotonic())
            except Exception:  # the supervisor must outlive any one failed restart
                log.exception("supervision round failed")

    def check(self, now: float) -> None:
        """One round: notice exits, restart those whose back-off has passed."""
        with self.stack.lock:
            for name, service in list(self.stack.services.items()):
                code = service.process.poll()
                if code is None or name in self._due:
                    continue
                ran_for = now - service.started
                delay = self.backoff.delay(self._delays.get(name), ran_for)
                self._delays[name] = delay
                self._due[name] = (now + delay, service)
                log.warning(
                    "%s exited with %s after %.1fs; restarting in %.1fs",
                    name,
                    code,
                    ran_for,
                    delay,
                )
            for name, (due, service) in list(self._due.items()):
                if self.stack.services.get(name) is not service:
                    # Stopped, killed or started again on purpose meanwhile.
                    del self._due[name]
                    continue
                if now < due or self._stopping.is_set():
                    continue
                del self._due[name]
                self.stack.restarts[name] += 1
                log.warning("restarting %s (restart %d)", name, self.stack.restarts[name])
                self.stack.start_service(name)
