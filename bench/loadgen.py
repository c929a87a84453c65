"""Open-loop HTTP load at a fixed rate, in its own process; prints JSON.

Each request has a scheduled send time (start + i / rate); latency is measured
from that time, not from when a connection happened to be free, so a server
that falls behind shows it (no coordinated omission). Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from urllib.parse import urlsplit


async def _connection(
    host: str,
    port: int,
    path: str,
    bodies: list[bytes],
    schedule: asyncio.Queue[tuple[float, int]],
    latencies: list[float],
    errors: list[int],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            item = await schedule.get()
            if item[1] < 0:
                return
            at, i = item
            delay = at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            body = bodies[i % len(bodies)]
            writer.write(
                b"POST "
                + path.encode()
                + b" HTTP/1.1\r\nHost: "
                + host.encode()
                + b"\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\n\r\n"
                + body
            )
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - at)
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(1)
    finally:
        writer.close()


async def run(
    url: str, rate: float, duration: float, connections: int, bodies: list[bytes]
) -> dict[str, float]:
    parts = urlsplit(url)
    total = int(rate * duration)
    schedule: asyncio.Queue[tuple[float, int]] = asyncio.Queue()
    start = time.perf_counter() + 0.2
    for i in range(total):
        schedule.put_nowait((start + i / rate, i))
    for _ in range(connections):
        schedule.put_nowait((0.0, -1))
    latencies: list[float] = []
    errors: list[int] = []
    began = time.perf_counter()
    await asyncio.gather(
        *(
            _connection(
                parts.hostname or "127.0.0.1",
                parts.port or 80,
                parts.path,
                bodies,
                schedule,
                latencies,
                errors,
            )
            for _ in range(connections)
        )
    )
    elapsed = time.perf_counter() - began
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return {
        "offered_rps": rate,
        "achieved_rps": len(latencies) / elapsed,
        "requests": len(latencies),
        "errors": len(errors),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "max_ms": latencies[-1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--entities", type=int, default=100_000)
    args = parser.parse_args()
    assert urlsplit(args.url).hostname in ("127.0.0.1", "localhost"), "loopback only"
    bodies = [json.dumps({"entityId": f"user-{i}"}).encode() for i in range(args.entities)]
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(
        json.dumps(asyncio.run(run(args.url, args.rate, args.duration, args.connections, bodies)))
    )


if __name__ == "__main__":
    main()
