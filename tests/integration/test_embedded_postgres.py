"""The embedded PostgreSQL asks every connection for the superuser's password.

Each test starts its own server in a temporary home (about two seconds), whatever
servers the session uses: what is tested is the launcher.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from infra.launch.ports import remembered_port
from infra.launch.postgres import (
    DATABASE,
    PASSWORD_FILE,
    EmbeddedPostgres,
    _bin,
    _create_database,
    _own,
    _run_as,
    start_postgres,
)

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def no_password_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # libpq's variables would hand asyncpg a password the test means to withhold.
    for name in ("PGPASSWORD", "PGPASSFILE", "PGUSER"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def servers() -> Iterator[list[EmbeddedPostgres]]:
    started: list[EmbeddedPostgres] = []
    try:
        yield started
    finally:
        for server in started:
            server.stop()


async def connect(port: int, password: str | None, tmp_path: Path) -> asyncpg.Connection:
    return await asyncpg.connect(
        host="127.0.0.1",
        port=port,
        user="postgres",
        database=DATABASE,
        password=password,
        passfile=str(tmp_path / "no-passfile"),
        timeout=10,
    )


async def refuses_without_password(port: int, tmp_path: Path) -> None:
    with pytest.raises(asyncpg.InvalidPasswordError):
        await connect(port, None, tmp_path)
    with pytest.raises(asyncpg.InvalidPasswordError):
        await connect(port, "not-the-password", tmp_path)


async def test_a_new_server_wants_its_generated_password(
    tmp_path: Path, servers: list[EmbeddedPostgres]
) -> None:
    root = tmp_path / "postgres"
    server = start_postgres(root)
    servers.append(server)

    password_file = root / PASSWORD_FILE
    assert password_file.stat().st_mode & 0o777 == 0o600
    assert password_file.read_text().strip() == server.password
    assert len(server.password) >= 32
    assert f":{server.password}@" in server.url

    await refuses_without_password(server.port, tmp_path)
    with_password = await connect(server.port, server.password, tmp_path)
    try:
        stored = await with_password.fetchval(
            "SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'"
        )
        assert stored.startswith("SCRAM-SHA-256$")
    finally:
        await with_password.close()
    by_url = await asyncpg.connect(server.url, timeout=10)
    await by_url.close()


async def test_a_restart_keeps_the_password(
    tmp_path: Path, servers: list[EmbeddedPostgres]
) -> None:
    root = tmp_path / "postgres"
    first = start_postgres(root)
    first.stop()
    again = start_postgres(root)
    servers.append(again)
    assert again.password == first.password
    await refuses_without_password(again.port, tmp_path)
    connection = await connect(again.port, first.password, tmp_path)
    await connection.close()


async def test_a_data_directory_from_before_gets_a_password_on_its_first_start(
    tmp_path: Path, servers: list[EmbeddedPostgres]
) -> None:
    """An earlier version's server (trust, no password file), still running: it is
    stopped, given a password, and started again requiring it; its data stays."""
    root = tmp_path / "postgres"
    data = root / "data"
    data.mkdir(parents=True)
    user = _run_as()
    _own(root, user)
    subprocess.run(
        [_bin("initdb"), "-D", str(data), "--auth=trust", "--encoding=utf8", "-U", "postgres"],
        check=True,
        capture_output=True,
        user=user,
        timeout=120,
    )
    old = EmbeddedPostgres(root, remembered_port(root / "port"), user, password="")
    old.start()
    servers.append(old)
    _create_database(old.port, user, password="")
    trusting = await connect(old.port, None, tmp_path)  # as anyone could, before
    await trusting.execute("CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)")
    await trusting.close()
    assert not (root / PASSWORD_FILE).exists()

    server = start_postgres(root)
    servers.append(server)
    assert (root / PASSWORD_FILE).stat().st_mode & 0o777 == 0o600
    await refuses_without_password(server.port, tmp_path)
    connection = await connect(server.port, server.password, tmp_path)
    try:
        assert await connection.fetchval("SELECT n FROM kept") == 7
    finally:
        await connection.close()
