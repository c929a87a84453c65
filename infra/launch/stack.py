"""The whole stack as child processes: four services and the front door.

``verdict up`` and the test harness both use it. Each service runs as
``verdict serve NAME`` would, pointed at the infrastructure by environment.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from infra.launch.infrastructure import Infrastructure
from shared.config import Settings

log = logging.getLogger(__name__)

SERVICE_ORDER = ("command", "evaluation", "results", "processor", "frontdoor")


@dataclass
class ServiceProcess:
    name: str
    url: str
    health_path: str
    process: subprocess.Popen[bytes]


@dataclass
class Stack:
    settings: Settings
    infrastructure: Infrastructure
    log_dir: Path
    extra_env: dict[str, str] = field(default_factory=dict)
    services: dict[str, ServiceProcess] = field(default_factory=dict)

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
        return f"http://{s.host}:{port}"

    def start_service(self, name: str) -> ServiceProcess:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # The child gets its own copy of the descriptor; ours closes once it has started.
        with open(self.log_dir / f"{name}.log", "ab") as logfile:
            process = subprocess.Popen(
                [sys.executable, "-m", "infra.cli", "serve", name],
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
        service = self.services[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
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

    def stop_service(self, name: str, timeout: float = 20.0) -> None:
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
        service = self.services.pop(name)
        os.killpg(service.process.pid, signal.SIGKILL)
        service.process.wait()

    def stop(self) -> None:
        for name in reversed(SERVICE_ORDER):
            self.stop_service(name)
