"""The results service's app: aggregates in, statistics out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware

from services.results.routes import routes
from services.results.source import AggregateSource
from shared import topics
from shared.config import Settings
from shared.http import EXCEPTION_HANDLERS, ArnPathMiddleware


def create_app(settings: Settings) -> Starlette:
    bootstrap = settings.kafka_bootstrap_servers
    if not bootstrap:
        raise RuntimeError("the results service needs KAFKA_BOOTSTRAP_SERVERS")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        source = AggregateSource(bootstrap, topics.changelog("moments"))
        await source.start()
        app.state.source = source
        app.state.readiness = lambda: (True, {"rows": len(source.rows)})
        try:
            yield
        finally:
            await source.stop()

    return Starlette(
        routes=routes,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[Middleware(ArnPathMiddleware)],
        lifespan=lifespan,
    )
