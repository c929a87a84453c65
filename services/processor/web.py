"""The processor's web pages (faust's server): /metrics, /healthz, /readyz, and its gauges.

Those three pages are all it serves, on loopback unless ``VERDICT_PROCESSOR_HOST`` says
otherwise (``Settings.processor_host``). faust mounts views of its own beside an app's pages: /table
lists every table and reads any row (here an entity's assignments and events), /router
names the worker owning a key, and "/" serves a statistics or index page. Verdict routes
nothing through faust's web server, so none is mounted: faust applies the blueprints in
``app.web.blueprints`` when its server starts, and this module leaves that list empty.
"""

from __future__ import annotations

from typing import Any

from faust.web.base import BlueprintManager
from prometheus_client import generate_latest

from services.processor.agents import partition_cells, positions, router
from services.processor.app import app, config
from services.processor.tables import entities
from shared import topics
from shared.observability import PROCESSOR_CELLS, PROCESSOR_ENTITIES, PROCESSOR_LAG

JOINED = frozenset({topics.OBSERVATIONS, topics.ASSIGNMENTS})


def serve_only_our_pages() -> None:
    """None of faust's own views: it applies the blueprints when its server starts, and
    the index page "/" has no switch. Our pages are routes added by ``@app.page``, not
    blueprints, so they stay."""
    app.web.blueprints = BlueprintManager()


serve_only_our_pages()


async def consumer_lag() -> int:
    """Messages between what the processor handled and each assigned partition's end."""
    total = 0
    for partition, lag in (await router.lag()).items():
        PROCESSOR_LAG.labels(topics.EVENTS, str(partition)).set(lag)
        total += lag
    for tp in app.consumer.assignment():
        # The assignment also holds the table's changelog partitions, which only recovery
        # reads: their "lag" is the table's size, never work left to do.
        if tp.topic not in JOINED:
            continue
        highwater = app.consumer.highwater(tp)
        if highwater is None:
            continue
        position = positions.get((tp.topic, tp.partition))
        if position is None:
            # Nothing read since this worker started: where it resumes is its committed
            # offset, not 0, or a restarted idle processor would report its whole topic.
            position = await app.consumer.position(tp)
        if position is None:
            continue
        lag = max(0, int(highwater) - int(position))
        PROCESSOR_LAG.labels(tp.topic, str(tp.partition)).set(lag)
        total += lag
    return total


@app.timer(interval=1.0)
async def update_gauges() -> None:
    await consumer_lag()
    PROCESSOR_CELLS.set(sum(len(c) for p in partition_cells.cells.values() for c in p.values()))
    PROCESSOR_ENTITIES.set(len(entities.data))


@app.page("/metrics")
async def metrics(web: Any, request: Any) -> Any:
    # aiohttp refuses a charset inside content_type; Prometheus reads plain text as 0.0.4.
    return web.bytes(generate_latest(), content_type="text/plain")


@app.page("/healthz")
async def healthz(web: Any, request: Any) -> Any:
    return web.json({"status": "alive"})


@app.page("/readyz")
async def readyz(web: Any, request: Any) -> Any:
    ready = config.ready.is_set()
    lag = await consumer_lag() if ready else None
    body = {
        "status": "ready" if ready else "not ready",
        "consumerLag": lag,
        "position": config.follower.position,
        "partitions": sorted(partition_cells.built),
    }
    return web.json(body, status=200 if ready else 503)
