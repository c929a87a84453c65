"""A faust-streaming worker that only counts: the floor under Verdict's processor.

Run by ``bench/run.py`` in its own process against the same broker and topic as
the ingestion scenario. It reads the last ``--count`` records of the topic in
batches (``take_events``, as the processor does) and prints the rate as JSON.
What it measures is faust's own per-record cost (fetch, conductor, stream,
acks), which no processor built on faust can go below.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import uuid
from typing import Any

import faust


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--partitions", type=int, required=True)
    parser.add_argument("--mode", choices=["take", "events"], default="take")
    args = parser.parse_args()
    logging.disable(logging.WARNING)

    app = faust.App(
        f"bench-faust-floor-{uuid.uuid4().hex[:8]}",
        broker=f"kafka://{args.bootstrap}",
        store="memory://",
        topic_partitions=args.partitions,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
        autodiscover=False,
    )
    topic = app.topic(
        args.topic, key_serializer="raw", value_serializer="raw", partitions=args.partitions
    )
    state: dict[str, Any] = {"seen": 0, "started": None}

    def seen(n: int) -> None:
        if state["started"] is None:
            state["started"] = time.perf_counter()
        state["seen"] += n
        if state["seen"] >= args.count:
            elapsed = time.perf_counter() - state["started"]
            print(json.dumps({"events": state["seen"], "events_per_s": state["seen"] / elapsed}))
            sys.stdout.flush()
            os._exit(0)

    if args.mode == "take":

        @app.agent(topic)
        async def count_batches(stream: Any) -> None:
            async for batch in stream.take_events(2000, within=0.02):
                seen(len(batch))
    else:

        @app.agent(topic)
        async def count_events(stream: Any) -> None:
            async for _ in stream.events():
                seen(1)

    worker = faust.Worker(app, loglevel="error", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
