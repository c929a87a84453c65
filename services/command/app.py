"""The control plane's Starlette app: routes, error handlers, lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from starlette.applications import Starlette

from services.command.handlers import CommandHandlers
from services.command.routes import routes
from shared.config import Settings
from shared.domain.arn import ArnScheme
from shared.domain.projection import ConfigView, apply
from shared.eventstore import EventStore, create_pool
from shared.feed import Feed
from shared.http import service_app
from shared.migrations import migrate


def create_app(settings: Settings) -> Starlette:
    database_url = settings.database_url
    if not database_url:
        raise RuntimeError("the command service needs DATABASE_URL")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await migrate(database_url)
        pool = await create_pool(database_url)
        store = EventStore(pool)
        view = ConfigView()
        feed = Feed(store, database_url, partial(apply, view), name="command")
        await feed.start()
        app.state.handlers = CommandHandlers(
            store, feed, view, ArnScheme(settings.region, settings.account_id)
        )
        app.state.readiness = lambda: (feed.lag == 0, {"position": feed.position, "lag": feed.lag})
        try:
            yield
        finally:
            await feed.stop()
            await pool.close()

    app: Starlette = service_app("command", routes, lifespan)
    return app
