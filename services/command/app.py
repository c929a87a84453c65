"""The control plane's app: one handler per operation, the event store, the projection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from services.command.application import ControlPlane
from services.command.endpoints import experiments as ex
from services.command.endpoints import features as fe
from services.command.endpoints import launches as la
from services.command.endpoints import projects as pr
from services.command.endpoints import segments as se
from services.command.endpoints import tags as ta
from shared.config import Settings
from shared.domain.projection import ConfigView, apply
from shared.edge.app import Edge
from shared.edge.routing import Service
from shared.edge.security import secure
from shared.edge.tokens import TokenCodec
from shared.eventstore import EventStore, create_pool
from shared.feed import Feed
from shared.health import LOCAL_HANDLERS
from shared.migrations import migrate

HANDLERS = {
    "CreateProject": pr.create_project,
    "ListProjects": pr.list_projects,
    "GetProject": pr.get_project,
    "UpdateProject": pr.update_project,
    "DeleteProject": pr.delete_project,
    "UpdateProjectDataDelivery": pr.update_project_data_delivery,
    "CreateFeature": fe.create_feature,
    "ListFeatures": fe.list_features,
    "GetFeature": fe.get_feature,
    "UpdateFeature": fe.update_feature,
    "DeleteFeature": fe.delete_feature,
    "CreateLaunch": la.create_launch,
    "ListLaunches": la.list_launches,
    "GetLaunch": la.get_launch,
    "UpdateLaunch": la.update_launch,
    "DeleteLaunch": la.delete_launch,
    "StartLaunch": la.start_launch,
    "StopLaunch": la.stop_launch,
    "CreateExperiment": ex.create_experiment,
    "ListExperiments": ex.list_experiments,
    "GetExperiment": ex.get_experiment,
    "UpdateExperiment": ex.update_experiment,
    "DeleteExperiment": ex.delete_experiment,
    "StartExperiment": ex.start_experiment,
    "StopExperiment": ex.stop_experiment,
    "CreateSegment": se.create_segment,
    "ListSegments": se.list_segments,
    "GetSegment": se.get_segment,
    "DeleteSegment": se.delete_segment,
    "ListSegmentReferences": se.list_segment_references,
    "TestSegmentPattern": se.test_segment_pattern,
    "TagResource": ta.tag_resource,
    "UntagResource": ta.untag_resource,
    "ListTagsForResource": ta.list_tags_for_resource,
    # Beyond Evidently's model (seed 004 and the audit log); boto3 never calls these.
    "DeclareWinner": ex.declare_winner,
    "ArchiveExperiment": ex.archive_experiment,
    "ListLabExperiments": ex.list_lab_experiments,
    "GetResourceHistory": ta.resource_history,
    **LOCAL_HANDLERS,
}


def create_app(settings: Settings) -> Edge:
    database_url = settings.database_url
    if not database_url:
        raise RuntimeError("the command service needs DATABASE_URL")
    arns = settings.arns()

    @asynccontextmanager
    async def lifespan(edge: Edge) -> AsyncIterator[None]:
        await migrate(database_url)
        pool = await create_pool(database_url)
        store = EventStore(pool)
        view = ConfigView()
        feed = Feed(store, database_url, partial(apply, view), name="command")
        await feed.start()
        edge.state.view = view
        edge.state.application = ControlPlane(store, feed, view, arns)
        edge.state.tokens = TokenCodec(settings.pagination_key())
        edge.state.readiness = partial(_readiness, feed)
        try:
            yield
        finally:
            await feed.stop()
            await pool.close()

    return secure(Edge(Service.COMMAND, HANDLERS, arns, lifespan=lifespan), settings)


def _readiness(feed: Feed) -> tuple[bool, dict[str, object]]:
    # Every change is a write to Postgres: without it the control plane can answer
    # only 503s, so it is not ready, and says why. The feed notices within its poll
    # interval (at once when its listening connection drops) and again on recovery.
    detail: dict[str, object] = {"position": feed.position, "lag": feed.lag}
    if feed.failing is not None:
        detail["reason"] = feed.failing
    return feed.failing is None and feed.lag == 0, detail
