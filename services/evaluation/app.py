"""The data plane's app: an in-memory view kept current by the event feed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from services.evaluation import dataplane, events
from services.evaluation.assignments import AssignmentPublisher
from services.evaluation.dataplane import DataPlane
from services.evaluation.publisher import Publisher, create_producer
from services.evaluation.rules import RulesCache
from services.evaluation.specs import MetricSpecs
from services.evaluation.sticky import StickyPersistence, StickyStore
from shared import topics
from shared.config import Settings
from shared.domain.projection import ConfigView, apply
from shared.domain.values import Status
from shared.edge.app import Edge
from shared.edge.routing import Service
from shared.edge.security import secure
from shared.eventstore import EventStore, create_pool
from shared.feed import Feed
from shared.health import LOCAL_HANDLERS
from shared.migrations import migrate

HANDLERS = {
    "EvaluateFeature": dataplane.evaluate_feature,
    "BatchEvaluateFeature": dataplane.batch_evaluate_feature,
    "PutProjectEvents": events.put_project_events,
    **LOCAL_HANDLERS,
}


def create_app(settings: Settings) -> Edge:
    database_url = settings.database_url
    bootstrap = settings.kafka_bootstrap_servers
    if not database_url or not bootstrap:
        raise RuntimeError("the evaluation service needs DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS")
    arns = settings.arns()

    @asynccontextmanager
    async def lifespan(edge: Edge) -> AsyncIterator[None]:
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
            x.experiment_id
            for x in view.experiments.values()
            if not x.deleted and x.status == Status.RUNNING and x.config.sticky_assignment
        )
        await persistence.start()
        producer = create_producer(bootstrap)
        await producer.start()
        assignments = AssignmentPublisher(producer, topics.ASSIGNMENTS)
        await assignments.start()
        edge.state.view = view
        edge.state.publisher = Publisher(producer, topics.EVENTS, settings.publish_timeout_seconds)
        edge.state.specs = MetricSpecs(view)
        edge.state.plane = DataPlane(view, rules, sticky, assignments, arns)
        edge.state.readiness = partial(_readiness, feed)
        try:
            yield
        finally:
            # Uvicorn runs this on SIGTERM once in-flight requests are answered: what
            # they queued (assignment events, sticky rows) is written before exit.
            await assignments.stop()
            await producer.stop()
            await persistence.stop()
            await feed.stop()
            await pool.close()

    return secure(Edge(Service.EVALUATION, HANDLERS, arns, lifespan=lifespan), settings)


def _readiness(feed: Feed) -> tuple[bool, dict[str, object]]:
    # Evaluations are answered from memory, so a database outage leaves the service
    # ready on the configuration it last applied; it says so but stays in rotation.
    detail: dict[str, object] = {"position": feed.position, "lag": feed.lag}
    if feed.failing is not None:
        detail["degraded"] = feed.failing
    return feed.lag == 0, detail
