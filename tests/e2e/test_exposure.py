"""No open door: what the running stack lets a stranger reach, and how large a body it reads.

- Every process of the stack (the services, the front door, the processor, Postgres,
  Kafka) listens on loopback only, as nothing here asks for another address.
- The processor's web server serves /healthz, /readyz and /metrics, and none of faust's
  own views (/table reads any row of the entity table; /router maps the cluster).
- A body over its operation's limit is refused from its Content-Length before a byte
  of it is read, and a chunked one while it streams, at the front door as at the
  service that owns the operation.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterator

import httpx
import psutil
import pytest

from infra.launch.infrastructure import Infrastructure
from infra.launch.stack import Stack
from shared.edge.limits import MAX_BODY_BYTES, MIN_BODY_BYTES

pytestmark = pytest.mark.e2e

SIXTY_MB = 60 * 1024 * 1024


def processes(stack: Stack, infrastructure: Infrastructure) -> Iterator[tuple[str, psutil.Process]]:
    roots: list[tuple[str, int]] = [(n, s.process.pid) for n, s in stack.services.items()]
    if infrastructure.kafka is not None:
        roots.append(("kafka", infrastructure.kafka.process.pid))
    if infrastructure.postgres is not None:
        pid_file = infrastructure.postgres.data_dir / "postmaster.pid"
        roots.append(("postgres", int(pid_file.read_text().splitlines()[0])))
    for name, pid in roots:
        process = psutil.Process(pid)
        yield name, process
        for child in process.children(recursive=True):
            yield name, child


def test_nothing_listens_beyond_loopback(stack: Stack, infrastructure: Infrastructure) -> None:
    listening: dict[str, set[str]] = {}
    for name, process in processes(stack, infrastructure):
        for connection in process.net_connections(kind="inet"):
            if connection.status == psutil.CONN_LISTEN or (
                connection.type == socket.SOCK_DGRAM and not connection.raddr
            ):
                listening.setdefault(name, set()).add(connection.laddr.ip)
    assert {"command", "evaluation", "results", "processor", "frontdoor"} <= set(listening)
    if infrastructure.kinds.get("postgres") == "embedded":
        assert "postgres" in listening
    if infrastructure.kinds.get("kafka") == "embedded":
        assert "kafka" in listening
    exposed = {name: ips for name, ips in listening.items() if not all(map(_loopback, ips))}
    assert not exposed


def _loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    # The JVM listens on 127.0.0.1 through an IPv6 socket: ::ffff:127.0.0.1.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


@pytest.mark.parametrize(
    "path",
    [
        "/table/entities/",
        "/table/",
        "/router/",
        "/graph/",
        "/performance/",
        "/assignment/",
        "/",
    ],
)
def test_the_processor_serves_none_of_fausts_views(stack: Stack, path: str) -> None:
    assert httpx.get(stack.url("processor") + path, timeout=5.0).status_code == 404


def test_the_processor_still_serves_its_own_pages(stack: Stack) -> None:
    base = stack.url("processor")
    assert httpx.get(f"{base}/healthz", timeout=5.0).status_code == 200
    assert httpx.get(f"{base}/readyz", timeout=5.0).status_code in (200, 503)
    metrics = httpx.get(f"{base}/metrics", timeout=5.0)
    assert metrics.status_code == 200 and "verdict_processor" in metrics.text


def _port(stack: Stack, service: str) -> int:
    port = httpx.URL(stack.url(service)).port
    assert port is not None
    return port


def _response(sock: socket.socket, timeout: float) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 response read off ``sock``, within ``timeout`` seconds."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    while len(body) < int(headers.get("content-length", "0")):
        body += sock.recv(65536)
    return int(lines[0].split()[1]), headers, body


def _assert_too_large(status: int, headers: dict[str, str], body: bytes) -> None:
    assert status == 400, body
    assert headers["x-amzn-errortype"] == "ValidationException"
    assert b"Request entity too large" in body and b"body" in body


@pytest.mark.parametrize("service", ["frontdoor", "evaluation"])
def test_a_60_mb_body_is_refused_from_its_length_unread(stack: Stack, service: str) -> None:
    """Only the headers are sent: the answer can come only from the Content-Length."""
    with socket.create_connection(("127.0.0.1", _port(stack, service)), timeout=5) as sock:
        started = time.monotonic()
        sock.sendall(
            b"POST /events/projects/p HTTP/1.1\r\nHost: verdict\r\n"
            b"Content-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % SIXTY_MB
        )
        status, headers, body = _response(sock, timeout=2.0)
        elapsed = time.monotonic() - started
    _assert_too_large(status, headers, body)
    assert elapsed < 0.5


def test_an_operation_that_takes_little_refuses_more(stack: Stack) -> None:
    """StartLaunch's input is all in its path: past the floor its body is refused."""
    path = "/projects/p/launches/l/start"
    with socket.create_connection(("127.0.0.1", _port(stack, "frontdoor")), timeout=5) as sock:
        sock.sendall(
            b"POST %s HTTP/1.1\r\nHost: verdict\r\nContent-Length: %d\r\n\r\n"
            % (path.encode(), MIN_BODY_BYTES + 1)
        )
        _assert_too_large(*_response(sock, timeout=2.0))
    within = httpx.post(stack.url("frontdoor") + path, content=b"{}", timeout=5.0)
    assert within.headers["x-amzn-errortype"] != "ValidationException", within.text


@pytest.mark.parametrize("service", ["frontdoor", "evaluation"])
def test_a_chunked_body_is_refused_while_it_streams(stack: Stack, service: str) -> None:
    """No Content-Length: past the limit the answer comes while the body is unfinished
    (the terminating chunk is never sent)."""
    with socket.create_connection(("127.0.0.1", _port(stack, service)), timeout=5) as sock:
        sock.sendall(
            b"POST /events/projects/p HTTP/1.1\r\nHost: verdict\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"x" * (256 * 1024)
        sent = 0
        while sent <= MAX_BODY_BYTES:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
        _assert_too_large(*_response(sock, timeout=5.0))


def test_a_60_mb_body_sent_whole_is_not_held(stack: Stack) -> None:
    """A client that sends the whole body anyway gets its answer and leaves the front
    door's memory as it was: what follows the refusal is discarded as it arrives."""
    front = psutil.Process(stack.services["frontdoor"].process.pid)
    before = front.memory_info().rss
    started = time.monotonic()
    response = httpx.post(
        stack.url("frontdoor") + "/events/projects/p",
        content=b"x" * SIXTY_MB,
        headers={"content-type": "application/json"},
        timeout=30.0,
    )
    elapsed = time.monotonic() - started
    _assert_too_large(response.status_code, dict(response.headers), response.content)
    grown = front.memory_info().rss - before
    assert grown < 16 * 1024 * 1024, grown
    assert elapsed < 5.0
