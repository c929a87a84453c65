"""The results service's app: aggregates and configuration in, statistics out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from services.results import endpoints
from services.results.source import CellSource
from shared import topics
from shared.config import Settings
from shared.edge.app import Edge
from shared.edge.routing import Service
from shared.edge.security import secure
from shared.follower import ConfigFollower
from shared.health import LOCAL_HANDLERS

HANDLERS = {
    "GetExperimentResults": endpoints.get_experiment_results,
    "GetExperimentAnalysis": endpoints.experiment_analysis,
    "GetExperimentAggregates": endpoints.experiment_aggregates,
    **LOCAL_HANDLERS,
}


def create_app(settings: Settings) -> Edge:
    bootstrap = settings.kafka_bootstrap_servers
    database_url = settings.database_url
    if not bootstrap or not database_url:
        raise RuntimeError("the results service needs DATABASE_URL and KAFKA_BOOTSTRAP_SERVERS")

    @asynccontextmanager
    async def lifespan(edge: Edge) -> AsyncIterator[None]:
        follower = ConfigFollower(database_url, name="results")
        await follower.start()
        source = CellSource(bootstrap, topics.AGGREGATES)
        await source.start()
        edge.state.follower = follower
        edge.state.view = follower.view
        edge.state.source = source
        edge.state.settings = settings
        edge.state.readiness = lambda: (
            source.healthy and source.caught_up.is_set() and follower.lag == 0,
            {
                "cells": len(source.rows),
                "skipped": source.skipped,
                "lag": follower.lag,
                "position": follower.position,
                **({"failure": source.failure} if source.failure else {}),
            },
        )
        try:
            yield
        finally:
            await source.stop()
            await follower.stop()

    return secure(Edge(Service.RESULTS, HANDLERS, settings.arns(), lifespan=lifespan), settings)
