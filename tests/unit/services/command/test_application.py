"""The control plane's application through the in-memory event store: no HTTP, no database.

Every operation's happy path and the errors Evidently documents for it, as domain
errors (the edge names them on the wire; ``tests/e2e`` checks that through boto3).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest

from services.command.application import (
    AnalysisChanges,
    Context,
    ControlPlane,
    ExperimentChanges,
    LaunchChanges,
    Quotas,
)
from shared.domain.arn import ArnScheme
from shared.domain.errors import Conflict, Invalid, NotFound, QuotaExceeded
from shared.domain.events import (
    AppConfigResource,
    DataDelivery,
    ExposureEvent,
    LaunchGroup,
    MetricDefinition,
    MetricGoal,
    ScheduledStep,
    SegmentOverride,
    Treatment,
)
from shared.domain.experiment import Experiment
from shared.domain.projection import ConfigView, apply
from shared.domain.resources import ResourceKind, ResourceRef
from shared.domain.stats.vocabulary import MetricRole, MetricType
from shared.domain.values import ValueType, VariableValue, Variation
from shared.envelope import NewEvent
from shared.eventstore import InMemoryEventStore
from shared.feed import Feed

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def app() -> AsyncIterator[ControlPlane]:
    store = InMemoryEventStore()
    view = ConfigView()
    feed = Feed(store, None, partial(apply, view), poll_interval=0.05)
    await feed.start()
    try:
        yield ControlPlane(store, feed, view, ArnScheme("us-east-1", "000000000000"), clock=Clock())
    finally:
        await feed.stop()


def variations(*names: str) -> list[Variation]:
    return [Variation(n, VariableValue(ValueType.STRING, n)) for n in names]


GOAL = MetricGoal(MetricDefinition("revenue", "userDetails.userId", "details.revenue"))


def experiment_settings(feature: str = "f", **extra: object) -> ExperimentChanges:
    fields: dict[str, object] = {
        "treatments": (
            Treatment("control", None, feature, "a"),
            Treatment("treatment", None, feature, "b"),
        ),
        "metric_goals": (GOAL,),
    }
    fields.update(extra)
    return ExperimentChanges(**fields)  # type: ignore[arg-type]


def launch_settings(feature: str = "f") -> LaunchChanges:
    return LaunchChanges(
        groups=(LaunchGroup("ga", None, feature, "a"), LaunchGroup("gb", None, feature, "b"))
    )


async def shop(app: ControlPlane) -> None:
    await app.create_project("shop")
    await app.create_feature("shop", "f", variations=variations("a", "b"))


# -- projects -------------------------------------------------------------------------


async def test_project_lifecycle(app: ControlPlane) -> None:
    created = await app.create_project(
        "shop",
        description="d",
        tags={"team": "x"},
        app_config=AppConfigResource("abcd123", "efgh456"),
    )
    assert (created.name, created.version, created.tags) == ("shop", 1, {"team": "x"})
    profile = created.app_config_resource and created.app_config_resource.configuration_profile_id
    assert profile and len(profile) == 7
    updated = await app.update_project("shop", description="e")
    assert (updated.description, updated.version) == ("e", 2)
    delivered = await app.update_project_data_delivery(
        "shop", DataDelivery(cloudwatch_log_group="logs")
    )
    assert delivered.data_delivery == DataDelivery(cloudwatch_log_group="logs")
    assert [p.name for p in app.list_projects()] == ["shop"]
    await app.delete_project("shop")
    with pytest.raises(NotFound, match="project shop"):
        app.get_project("shop")
    assert app.list_projects() == []


async def test_project_errors(app: ControlPlane) -> None:
    await app.create_project("shop")
    with pytest.raises(Conflict, match="already exists"):
        await app.create_project("shop")
    with pytest.raises(NotFound):
        await app.update_project("ghost", description="x")
    await app.create_feature("shop", "f", variations=variations("a"))
    with pytest.raises(Conflict):
        await app.delete_project("shop")
    with pytest.raises(Conflict, match="resourceVersion 1, not 7"):
        await app.update_project("shop", description="x", context=Context(expected_version=7))
    assert app.get_project("shop").description is None


async def test_quotas(app: ControlPlane) -> None:
    app.quotas = Quotas(projects=1, features_per_project=1, segments=1)
    await shop(app)
    with pytest.raises(QuotaExceeded):
        await app.create_project("other")
    with pytest.raises(QuotaExceeded):
        await app.create_feature("shop", "g", variations=variations("a"))
    await app.create_segment("s", json.dumps({"a": [1]}))
    with pytest.raises(QuotaExceeded):
        await app.create_segment("t", json.dumps({"a": [1]}))


# -- features -------------------------------------------------------------------------


async def test_feature_lifecycle(app: ControlPlane) -> None:
    await shop(app)
    feature = app.get_feature("shop", "f")
    assert feature.default_variation == "a" and feature.version == 1
    updated = await app.update_feature(
        "shop",
        "f",
        add_or_update=variations("c"),
        remove=["b"],
        default_variation="c",
        entity_overrides={"vip": "a"},
    )
    assert [v.name for v in updated.variations] == ["a", "c"]
    assert (updated.default_variation, dict(updated.entity_overrides)) == ("c", {"vip": "a"})
    assert [f.name for f in app.list_features("shop")] == ["f"]
    await app.delete_feature("shop", "f")
    assert app.list_features("shop") == []


async def test_feature_errors(app: ControlPlane) -> None:
    with pytest.raises(NotFound, match="project ghost"):
        await app.create_feature("ghost", "f", variations=variations("a"))
    await shop(app)
    with pytest.raises(Conflict, match="already exists"):
        await app.create_feature("shop", "f", variations=variations("a"))
    with pytest.raises(Invalid) as invalid:
        await app.create_feature("shop", "g", variations=variations("a"), default_variation="z")
    assert invalid.value.field == "defaultVariation"
    with pytest.raises(NotFound, match="feature ghost"):
        app.get_feature("shop", "ghost")


async def test_a_feature_in_use_keeps_its_variations(app: ControlPlane) -> None:
    await shop(app)
    await app.create_experiment("shop", "e", experiment_settings())
    await app.start_experiment("shop", "e", T0 + timedelta(days=7))
    assert app.evaluation_rules(app.get_feature("shop", "f")) == [("e", "aws.evidently.onlineab")]
    with pytest.raises(Conflict):
        await app.update_feature("shop", "f", remove=["b"])
    with pytest.raises(Conflict, match="experiment e"):
        await app.delete_feature("shop", "f")
    assert [v.name for v in app.get_feature("shop", "f").variations] == ["a", "b"]


async def test_racing_writers_without_a_version_all_land(app: ControlPlane) -> None:
    await shop(app)
    await asyncio.gather(
        *(app.update_feature("shop", "f", description=f"writer {i}") for i in range(8))
    )
    assert app.get_feature("shop", "f").version == 9


# -- launches -------------------------------------------------------------------------


async def test_launch_lifecycle(app: ControlPlane) -> None:
    await shop(app)
    launch = await app.create_launch("shop", "l", launch_settings(), tags={"k": "v"})
    (step,) = launch.config.steps
    assert dict(step.group_weights) == {"ga": 50_000, "gb": 50_000}
    assert launch.config.randomization_salt == "l"
    updated = await app.update_launch("shop", "l", LaunchChanges(description="d"))
    assert updated.config.description == "d" and updated.config.groups == launch.config.groups
    started = await app.start_launch("shop", "l")
    assert started.status == "RUNNING"
    assert [x.name for x in app.list_launches("shop", "RUNNING")] == ["l"]
    stopped = await app.stop_launch("shop", "l", desired_state="CANCELLED", reason="done")
    assert stopped.status == "CANCELLED" and stopped.ended_at == T0
    await app.delete_launch("shop", "l")
    assert app.list_launches("shop") == []


async def test_launch_errors(app: ControlPlane) -> None:
    await shop(app)
    with pytest.raises(NotFound, match="feature ghost"):
        await app.create_launch("shop", "l", launch_settings("ghost"))
    await app.create_launch("shop", "l", launch_settings())
    await app.create_launch("shop", "m", launch_settings())
    await app.start_launch("shop", "l")
    with pytest.raises(Conflict):
        await app.start_launch("shop", "m")
    with pytest.raises(Conflict):
        await app.delete_launch("shop", "l")
    with pytest.raises(Invalid):
        await app.create_launch("shop", "n", LaunchChanges())
    overrides = (SegmentOverride("ghost", 1, {"ga": 100_000}),)
    with pytest.raises(NotFound, match="segment ghost"):
        await app.update_launch(
            "shop",
            "m",
            LaunchChanges(steps=(ScheduledStep(T0, {"ga": 100_000}, overrides),)),
        )


# -- experiments ----------------------------------------------------------------------


async def test_experiment_lifecycle(app: ControlPlane) -> None:
    await shop(app)
    created = await app.create_experiment("shop", "e", experiment_settings())
    config = created.config
    assert config.control_treatment == "control" and config.randomization_salt == "e"
    assert dict(config.treatment_weights) == {"control": 50_000, "treatment": 50_000}
    assert config.sampling_rate == 100_000 and config.sticky_assignment
    updated = await app.update_experiment(
        "shop", "e", ExperimentChanges(analysis=AnalysisChanges(method="ttest"))
    )
    assert updated.config.analysis.method == "ttest"
    assert updated.config.analysis.confidence_level == config.analysis.confidence_level
    assert updated.config.treatments == config.treatments
    started = await app.start_experiment("shop", "e", T0 + timedelta(days=7))
    assert started.status == "RUNNING" and started.started_at == T0
    winner = await app.declare_winner("shop", "e", "treatment")
    assert winner.winner == "treatment"
    stopped = await app.stop_experiment(
        "shop", "e", desired_state="COMPLETED", ended_reason="success"
    )
    assert stopped.status == "COMPLETED" and stopped.ended_reason == "success"
    await app.archive_experiment("shop", "e")
    assert app.list_experiments("shop") == []
    assert [x.name for x in app.list_experiments("shop", include_archived=True)] == ["e"]
    await app.delete_experiment("shop", "e")
    with pytest.raises(NotFound):
        app.get_experiment("shop", "e")


async def test_experiment_errors(app: ControlPlane) -> None:
    await shop(app)
    await app.create_experiment("shop", "e", experiment_settings())
    await app.create_experiment("shop", "e2", experiment_settings())
    with pytest.raises(Conflict, match="already exists"):
        await app.create_experiment("shop", "e", experiment_settings())
    with pytest.raises(Invalid):
        await app.update_experiment(
            "shop", "e", ExperimentChanges(segment="s", remove_segment=True)
        )
    with pytest.raises(Invalid):
        await app.create_experiment(
            "shop", "e3", experiment_settings(treatment_weights={"control": 1, "treatment": 1})
        )
    await app.start_experiment("shop", "e", T0 + timedelta(days=7))
    with pytest.raises(Conflict):
        await app.start_experiment("shop", "e2", T0 + timedelta(days=7))
    with pytest.raises(Conflict):
        await app.archive_experiment("shop", "e")
    with pytest.raises(Invalid) as invalid:
        await app.stop_experiment("shop", "e", ended_reason="bored")
    assert invalid.value.field == "endedReason"
    with pytest.raises(Conflict):
        await app.delete_experiment("shop", "e")


# -- segments, tags, history ------------------------------------------------------------


async def test_segments(app: ControlPlane) -> None:
    await shop(app)
    pattern = json.dumps({"country": ["NZ"]})
    segment = await app.create_segment("nz", pattern, description="kiwis")
    assert segment.pattern == pattern
    await app.create_experiment("shop", "e", experiment_settings(segment="nz"))
    assert [x.name for x in app.segment_references("nz", "EXPERIMENT")] == ["e"]
    assert app.segment_references("nz", "LAUNCH") == []
    with pytest.raises(Conflict, match="experiment shop/e"):
        await app.delete_segment("nz")
    await app.update_experiment("shop", "e", ExperimentChanges(remove_segment=True))
    await app.delete_segment("nz")
    assert app.list_segments() == []
    with pytest.raises(Invalid):
        await app.create_segment("bad", "{not json")
    assert app.test_segment_pattern(pattern, {"country": "NZ"})
    assert not app.test_segment_pattern(pattern, {"country": "AU"})


async def test_tags_and_history(app: ControlPlane) -> None:
    await shop(app)
    feature = ResourceRef(ResourceKind.FEATURE, "shop", "f")
    await app.tag_resource(feature, {"a": "1", "b": "2"})
    await app.untag_resource(feature, ["a"])
    assert app.tags_of(feature) == {"b": "2"}
    with pytest.raises(Invalid, match="50 tags"):
        await app.tag_resource(feature, {f"k{i}": "v" for i in range(50)})
    stream, events = await app.history(feature)
    assert stream == "feature-shop/f"
    assert [e.type for e in events] == ["FeatureCreated", "TagsChanged", "TagsChanged"]
    with pytest.raises(NotFound):
        app.tags_of(ResourceRef(ResourceKind.LAUNCH, "shop", "ghost"))


async def test_the_request_id_is_recorded(app: ControlPlane) -> None:
    await app.create_project("shop", context=Context(request_id="req-1"))
    _, events = await app.history(ResourceRef(ResourceKind.PROJECT, None, "shop"))
    assert events[0].metadata == {"requestId": "req-1"}


async def test_experiments_get_a_fresh_id_each_incarnation(app: ControlPlane) -> None:
    await shop(app)
    first = await app.create_experiment("shop", "e", experiment_settings())
    await app.delete_experiment("shop", "e")
    second = await app.create_experiment("shop", "e", experiment_settings())
    assert len(first.experiment_id) == 36 and first.experiment_id != second.experiment_id


async def test_an_experiment_created_before_ids_keeps_its_old_key(app: ControlPlane) -> None:
    """Schema 1 of ExperimentCreated had no id; the upcaster gives it the key its data
    was stored under (project/name@created), so nothing stored has to move."""
    await shop(app)
    created = await app.create_experiment("shop", "new", experiment_settings())
    _, [event] = await app.history(ResourceRef(ResourceKind.EXPERIMENT, "shop", "new"))
    assert event.schema_version == 2
    legacy = {k: v for k, v in event.payload.items() if k != "experiment_id"}
    legacy["name"] = "old"
    await app.store.append(
        "experiment-shop/old", 0, [NewEvent("ExperimentCreated", legacy, schema_version=1)]
    )
    await app.feed.catch_up()
    old = app.get_experiment("shop", "old")
    assert old.experiment_id == f"shop/old@{old.created_at.timestamp():.6f}"
    assert created.experiment_id != old.experiment_id


async def test_the_remaining_documented_errors(app: ControlPlane) -> None:
    app.quotas = Quotas(launches_per_project=1, experiments_per_project=1)
    await shop(app)
    await app.create_launch("shop", "l", launch_settings())
    with pytest.raises(QuotaExceeded):
        await app.create_launch("shop", "m", launch_settings())
    with pytest.raises(Invalid, match="not RUNNING"):
        await app.stop_launch("shop", "l")
    await app.create_experiment("shop", "e", experiment_settings())
    with pytest.raises(QuotaExceeded):
        await app.create_experiment("shop", "e2", experiment_settings())
    with pytest.raises(Conflict):
        await app.declare_winner("shop", "e", "treatment")  # not running
    await app.create_segment("s", json.dumps({"a": [1]}))
    with pytest.raises(Conflict, match="already exists"):
        await app.create_segment("s", json.dumps({"a": [1]}))
    with pytest.raises(NotFound, match="segment ghost"):
        app.get_segment("ghost")


# -- issue 18: Verdict's experiment members, seed 004's fields, labs ------------------


PATTERN = json.dumps({"details": {"revenue": [{"exists": True}]}})


async def test_issue_18_members_are_created_and_updated_in_part(app: ControlPlane) -> None:
    await shop(app)
    exposure = ExposureEvent(PATTERN, "userDetails.userId")
    counted = MetricGoal(
        MetricDefinition("orders", "userDetails.userId", "details.orders"),
        metric_type=MetricType.COUNT,
        role=MetricRole.GUARDRAIL,
    )
    created = await app.create_experiment(
        "shop",
        "e",
        experiment_settings(
            metric_goals=(GOAL, counted),
            exposure=exposure,
            hypothesis="h",
            links={"prd": "https://example.com"},
            subject_type="customer_id",
            parent_id="lab-a",
        ),
    )
    config = created.config
    assert config.metric_goals == (GOAL, counted) and config.exposure == exposure
    assert (config.subject_type, config.parent_id) == ("CUSTOMER_ID", "LAB-A")
    # What an update leaves out keeps its value; links are replaced whole.
    updated = await app.update_experiment("shop", "e", ExperimentChanges(links={"doc": "d"}))
    assert updated.config.links == {"doc": "d"} and updated.config.hypothesis == "h"
    assert updated.config.exposure == exposure and updated.config.parent_id == "LAB-A"
    cleared = await app.update_experiment(
        "shop", "e", ExperimentChanges(hypothesis="", links={}, remove_exposure=True)
    )
    assert cleared.config.hypothesis is None and cleared.config.links == {}
    assert cleared.config.exposure is None and cleared.config.metric_goals == (GOAL, counted)


async def test_exposure_event_or_its_removal_not_both(app: ControlPlane) -> None:
    await shop(app)
    await app.create_experiment("shop", "e", experiment_settings())
    both = ExperimentChanges(exposure=ExposureEvent(PATTERN, "u"), remove_exposure=True)
    with pytest.raises(Invalid) as caught:
        await app.update_experiment("shop", "e", both)
    assert caught.value.field == "removeExposureEvent"


async def test_a_refused_update_stores_nothing(app: ControlPlane) -> None:
    await shop(app)
    before = await app.create_experiment("shop", "e", experiment_settings(hypothesis="h"))
    bad_goal = MetricGoal(GOAL.definition, metric_type=MetricType.RETENTION)
    for changes, field in [
        (ExperimentChanges(hypothesis="new", parent_id="not a lab"), "parentId"),
        (
            ExperimentChanges(hypothesis="new", metric_goals=(bad_goal,)),
            "metricGoals[0].retentionDay",
        ),
    ]:
        with pytest.raises(Invalid) as caught:
            await app.update_experiment("shop", "e", changes)
        assert caught.value.field == field
    after = app.get_experiment("shop", "e")
    assert after.version == before.version and after.config == before.config
    await app.start_experiment("shop", "e", T0 + timedelta(days=7))
    with pytest.raises(Conflict, match=r"metricGoals\[0\].metricType"):
        await app.update_experiment(
            "shop",
            "e",
            ExperimentChanges(
                hypothesis="new",
                metric_goals=(MetricGoal(GOAL.definition, metric_type=MetricType.COUNT),),
            ),
        )
    assert app.get_experiment("shop", "e").config.hypothesis == "h"
    running = await app.update_experiment("shop", "e", ExperimentChanges(hypothesis="new"))
    assert running.config.hypothesis == "new"


async def test_a_labs_experiments_across_projects(app: ControlPlane) -> None:
    for project in ("shop", "blog"):
        await app.create_project(project)
        await app.create_feature(project, "f", variations=variations("a", "b"))
    await app.create_experiment("shop", "x", experiment_settings(parent_id="home"))
    await app.create_experiment("blog", "x", experiment_settings(parent_id="HOME"))
    await app.create_experiment("blog", "y", experiment_settings(parent_id="other"))
    await app.create_experiment("shop", "z", experiment_settings())

    def names(found: list[Experiment]) -> list[tuple[str, str]]:
        return sorted((x.project, x.name) for x in found)

    assert names(app.list_lab_experiments("Home")) == [("blog", "x"), ("shop", "x")]
    assert names(app.list_lab_experiments("default")) == [("shop", "z")]
    assert names(app.list_lab_experiments("home", lambda p: p == "shop")) == [("shop", "x")]
    assert app.list_lab_experiments("nobody-uses-it") == []
    with pytest.raises(Invalid):
        app.list_lab_experiments("not a lab")
    # Archived experiments are hidden unless asked for, as ListExperiments does; deleted
    # ones are gone.
    await app.start_experiment("shop", "x", T0 + timedelta(days=7))
    await app.stop_experiment("shop", "x")
    await app.archive_experiment("shop", "x")
    await app.delete_experiment("blog", "x")
    assert app.list_lab_experiments("home") == []
    assert names(app.list_lab_experiments("home", include_archived=True)) == [("shop", "x")]
