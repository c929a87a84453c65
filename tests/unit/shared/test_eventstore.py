"""An unreachable database is a 503 the client may retry, promptly; other errors are not.

The store's contract itself runs on Postgres and in memory in
``tests/integration/test_eventstore.py``.
"""

from __future__ import annotations

import socket
import time

import asyncpg
import pytest

from shared.edge.errors import render_error
from shared.envelope import NewEvent
from shared.eventstore import EventStore, StoreUnavailable, create_pool, reaching_database


@pytest.mark.parametrize(
    "cause",
    [
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError(),  # a bounded connect, acquire or statement
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    ],
)
def test_ways_of_not_reaching_postgres_are_service_unavailable(cause: BaseException) -> None:
    with pytest.raises(StoreUnavailable) as raised, reaching_database():
        raise cause
    assert raised.value.__cause__ is cause
    status, headers, body = render_error(raised.value)
    assert status == 503
    assert (b"x-amzn-errortype", b"ServiceUnavailableException") in headers
    assert b"database is unreachable" in body


def test_what_a_statement_did_wrong_is_not_hidden_as_unavailable() -> None:
    with pytest.raises(asyncpg.UniqueViolationError), reaching_database():
        raise asyncpg.UniqueViolationError("duplicate key")


async def test_a_store_whose_server_is_gone_answers_at_once() -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pool = await create_pool(f"postgresql://postgres@127.0.0.1:{port}/verdict", min_size=0)
    try:
        store = EventStore(pool)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await store.append("s-1", 0, [NewEvent("A", {})])
        with pytest.raises(StoreUnavailable):
            await store.read_after(0)
        assert time.monotonic() - started < 2.0
    finally:
        await pool.close()
