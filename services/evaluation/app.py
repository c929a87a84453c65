"""The data plane's app: an in-memory view kept current by the event feed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from starlette.applications import Starlette

from services.evaluation.assignments import AssignmentPublisher
from services.evaluation.dataplane import DataPlane
from services.evaluation.fastpath import EvaluationFastPath
from services.evaluation.publisher import Publisher, create_producer
from services.evaluation.routes import routes
from services.evaluation.rules import RulesCache
from services.evaluation.sticky import StickyPersistence, StickyStore
from shared import topics
from shared.config import Settings
from shared.domain.arn import ArnScheme
from shared.domain.evaluation import experiment_key
from shared.domain.projection import ConfigView, apply
from shared.eventstore import EventStore, create_pool
from shared.feed import Feed
from shared.http import service_app
from shared.migrations import migrate


def create_app(settings: Settings) -> EvaluationFastPath:
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
        pool = await create_pool(database_url, max_size=3)
        view = ConfigView()
        rules = RulesCache(view)
        feed = Feed(
            EventStore(pool),
            database_url,
            partial(apply, view),
            after_batch=rules.refresh,
            name="evaluation",
        )
        await feed.start()
        sticky = StickyStore()
        persistence = StickyPersistence(pool, sticky)
        await persistence.load(
            experiment_key(x)
            for x in view.experiments.values()
            if not x.deleted and x.status == "RUNNING" and x.config.sticky_assignment
        )
        await persistence.start()
        producer = create_producer(bootstrap)
        await producer.start()
        assignments = AssignmentPublisher(producer, topics.ASSIGNMENTS)
        await assignments.start()
        app.state.view = view
        app.state.publisher = Publisher(producer, topics.EVENTS)
        fast.plane = DataPlane(
            view, rules, sticky, assignments, ArnScheme(settings.region, settings.account_id)
        )
        app.state.readiness = lambda: (feed.lag == 0, {"position": feed.position, "lag": feed.lag})
        try:
            yield
        finally:
            fast.plane = None
            await assignments.stop()
            await producer.stop()
            await persistence.stop()
            await feed.stop()
            await pool.close()

    fast = EvaluationFastPath(service_app("evaluation", routes, lifespan))
    return fast
