"""The results service's app: aggregates and configuration in, statistics out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from services.results.routes import routes
from services.results.source import AggregateSource
from shared import topics
from shared.config import Settings
from shared.follower import ConfigFollower
from shared.http import service_app


def create_app(settings: Settings) -> Starlette:
    bootstrap = settings.kafka_bootstrap_servers
    database_url = settings.database_url
    if not bootstrap or not database_url:
        raise RuntimeError("the results service needs DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        follower = ConfigFollower(database_url, name="results")
        await follower.start()
        source = AggregateSource(bootstrap, topics.AGGREGATES)
        await source.start()
        app.state.follower = follower
        app.state.source = source
        app.state.settings = settings
        app.state.readiness = lambda: (
            source.caught_up.is_set() and follower.lag == 0,
            {"cells": len(source.rows), "lag": follower.lag, "position": follower.position},
        )
        try:
            yield
        finally:
            await source.stop()
            await follower.stop()

    app: Starlette = service_app("results", routes, lifespan)
    return app
