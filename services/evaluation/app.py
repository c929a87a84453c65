"""The data plane's app: an in-memory view kept current by the event feed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from starlette.applications import Starlette
from starlette.middleware import Middleware

from services.evaluation.publisher import Publisher
from services.evaluation.routes import routes
from shared import topics
from shared.config import Settings
from shared.domain.arn import ArnScheme
from shared.domain.projection import ConfigView, apply
from shared.eventstore import EventStore, create_pool
from shared.feed import Feed
from shared.http import EXCEPTION_HANDLERS, ArnPathMiddleware
from shared.migrations import migrate


def create_app(settings: Settings) -> Starlette:
    database_url = settings.database_url
    bootstrap = settings.kafka_bootstrap_servers
    if not database_url or not bootstrap:
        raise RuntimeError("the evaluation service needs DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await migrate(database_url)
        await topics.ensure_topics(
            bootstrap, topics.verdict_topics(settings.topic_partitions, settings.topic_replication)
        )
        pool = await create_pool(database_url, max_size=2)
        view = ConfigView()
        feed = Feed(EventStore(pool), database_url, partial(apply, view))
        await feed.start()
        publisher = Publisher(bootstrap, topics.EVENTS)
        await publisher.start()
        app.state.view = view
        app.state.feed = feed
        app.state.publisher = publisher
        app.state.arns = ArnScheme(settings.region, settings.account_id)
        app.state.readiness = lambda: (feed.lag == 0, {"position": feed.position, "lag": feed.lag})
        try:
            yield
        finally:
            await publisher.stop()
            await feed.stop()
            await pool.close()

    return Starlette(
        routes=routes,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[Middleware(ArnPathMiddleware)],
        lifespan=lifespan,
    )
