"""The whole stack as child processes: four services and the front door.

``verdict up`` and the test harness both use it. Each service runs as
``verdict serve NAME`` would, pointed at the infrastructure by environment.

Supervision (``supervise()``: restart a service that exits on its own, with
back-off; see ``supervisor.py``) is on in ``verdict up`` and off unless asked
for in tests: there a crash should fail the test that caused it rather than be
papered over, and tests stop, kill and start services themselves. The methods
that do so work either way; a service they stop stays stopped.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from infra.launch.infrastructure import Infrastructure
from infra.launch.supervisor import Backoff, Supervisor
from shared.config import Settings

log = logging.getLogger(__name__)

SERVICE_ORDER = ("command", "evaluation", "results", "processor", "frontdoor")


@dataclass
class ServiceProcess:
    name: str
    url: str
    health_path: str
    process: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)


@dataclass
class Stack:
    settings: Settings
    infrastructure: Infrastructure
    log_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    # Restarts by the supervisor, per service: also on each one's /metrics.
    restarts: Counter[str] = field(default_factory=Counter)
    # Guards ``services`` between the caller's thread and the supervisor's.
    lock: threading.RLock = field(default_factory=threading.RLock)
    supervisor: Supervisor | None = None

    def env(self) -> dict[str, str]:
        # Every setting from the one list in shared/config.py, then the servers this
        # stack started.
        return {
            **os.environ,
            **self.extra_env,
            **self.settings.to_env(),
            "DATABASE_URL": self.infrastructure.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.infrastructure.kafka_bootstrap_servers,
        }

    def url(self, name: str) -> str:
        s = self.settings
        port = {
            "command": s.command_port,
            "evaluation": s.evaluation_port,
            "results": s.results_port,
            "processor": s.processor_port,
            "frontdoor": s.port,
        }[name]
        # The processor's web server has its own address, loopback by default.
        host = s.processor_host if name == "processor" else s.host
        return f"http://{host}:{port}"

    def start_service(self, name: str) -> ServiceProcess:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # The count of restarts so far, for the child's verdict_service_restarts_total.
        command = [sys.executable, "-m", "infra.cli", "serve", name]
        command += ["--restarts", str(self.restarts[name])]
        # The child gets its own copy of the descriptor; ours closes once it has started.
        with self.lock, open(self.log_dir / f"{name}.log", "ab") as logfile:
            process = subprocess.Popen(
                command,
                env=self.env(),
                stdout=logfile,
                stderr=subprocess.STDOUT,
                # Own session: Ctrl-C reaches the supervisor, which stops children in order.
                start_new_session=True,
            )
            health = "/healthz"
            service = ServiceProcess(name, self.url(name), health, process)
            self.services[name] = service
        return service

    def wait_healthy(self, name: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            # Looked up each round: under supervision a restart replaces the process.
            service = self.services[name]
            if service.process.poll() is not None and self.supervisor is None:
                code = service.process.returncode
                raise RuntimeError(f"{name} exited with {code}; see {self.log_dir}/{name}.log")
            try:
                if httpx.get(service.url + service.health_path, timeout=1.0).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(
            f"{name} was not healthy within {timeout}s; see {self.log_dir}/{name}.log"
        )

    def start(self, names: tuple[str, ...] = SERVICE_ORDER) -> None:
        try:
            for name in names:
                self.start_service(name)
            for name in names:
                self.wait_healthy(name)
        except BaseException:
            self.stop()
            raise

    def supervise(self, backoff: Backoff | None = None) -> None:
        """Restart from now on any service that exits on its own."""
        if self.supervisor is None:
            self.supervisor = Supervisor(self, backoff or Backoff())
            self.supervisor.start()

    def unsupervise(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None

    def stop_service(self, name: str, timeout: float = 20.0) -> None:
        # Out of the stack before the signal, so a supervisor never sees it exit.
        with self.lock:
            service = self.services.pop(name, None)
        if service is None or service.process.poll() is not None:
            return
        service.process.send_signal(signal.SIGTERM)
        try:
            service.process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in %ss; killing it", name, timeout)
            os.killpg(service.process.pid, signal.SIGKILL)
            service.process.wait()

    def kill_service(self, name: str) -> None:
        """SIGKILL, on purpose: the service stays down until ``start_service``."""
        with self.lock:
            service = self.services.pop(name)
        os.killpg(service.process.pid, signal.SIGKILL)
        service.process.wait()

    def stop(self) -> None:
        self.unsupervise()
        for name in reversed(SERVICE_ORDER):
            self.stop_service(name)
