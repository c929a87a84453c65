"""The control plane's application: one method per operation, and nothing about HTTP.

As eventsourcing's ``Application``: a command method loads the aggregate from the
view, asks the domain to decide (a pure function returning events), appends those
events at the aggregate's version, waits until the view has applied them, and
returns the domain object. A query method reads the view. Errors are the domain's
(``shared/domain/errors.py``); the edge names them on the wire.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from shared.domain import access as access_agg
from shared.domain import experiment as experiment_agg
from shared.domain import feature as feature_agg
from shared.domain import launch as launch_agg
from shared.domain import project as project_agg
from shared.domain import queries
from shared.domain import segment as segment_agg
from shared.domain.access import AccessKey
from shared.domain.arn import ArnScheme
from shared.domain.errors import Conflict, Invalid, NotFound, QuotaExceeded
from shared.domain.events import (
    AnalysisConfig,
    AppConfigResource,
    DataDelivery,
    ExperimentConfig,
    ExposureEvent,
    LaunchConfig,
    LaunchGroup,
    MetricDefinition,
    MetricGoal,
    ScheduledStep,
    TagsChanged,
    Treatment,
)
from shared.domain.experiment import DEFAULT_LAB, DEFAULT_SUBJECT_TYPE, Experiment
from shared.domain.feature import Feature
from shared.domain.launch import TOTAL_WEIGHT, Launch
from shared.domain.patterns import compile_pattern
from shared.domain.project import Project
from shared.domain.projection import ConfigView, to_new_event
from shared.domain.resources import ResourceKind, ResourceRef
from shared.domain.segment import MAX_PATTERN_LENGTH, Segment
from shared.domain.tagging import check_tag_count
from shared.domain.values import EVERYONE, Variation
from shared.envelope import Envelope, NewEvent
from shared.eventstore import ConcurrencyError

# A writer that raced another one (without asking for a version) retries on the
# caught-up view; a caller that supplied a version gets the conflict instead.
# Each round one racer wins, so N racers need up to N rounds.
_RETRIES = 32
_BACKOFF_SECONDS = 0.002

# Evidently: samplingRate is the share of the available audience; omitted, all of it.
DEFAULT_SAMPLING_RATE = EVERYONE


class EventLog(Protocol):
    """What the application needs of an event store (Postgres or in memory)."""

    async def append(
        self, stream: str, expected_version: int, events: Sequence[NewEvent]
    ) -> list[Envelope]: ...

    async def read_stream(self, stream: str) -> list[Envelope]: ...


class Follower(Protocol):
    """What the application needs of the feed that keeps its view current."""

    async def catch_up(self) -> None: ...

    async def wait_for(self, position: int, timeout: float = 10.0) -> None: ...


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


S = TypeVar("S", bound=Versioned)
T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Quotas:
    """Service quotas, answered with QuotaExceeded past them."""

    projects: int = 1000
    features_per_project: int = 1000
    launches_per_project: int = 100
    experiments_per_project: int = 100
    segments: int = 500


@dataclass(frozen=True, slots=True)
class Context:
    """Who asks: the version the caller expects (If-Match), the request id for the log."""

    expected_version: int | None = None
    request_id: str | None = None


# -- commands' arguments ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AnalysisChanges:
    """Seed 004's analysis settings a request sets; the others keep their value."""

    method: str | None = None
    confidence_level: float | None = None
    correction: str | None = None
    one_sided: bool | None = None
    tuning_sample_size: int | None = None
    prior_mean: float | None = None
    prior_variance: float | None = None
    effect: str | None = None
    cuped: bool | None = None
    cuped_window_days: int | None = None
    prior: str | None = None

    def applied_to(self, base: AnalysisConfig) -> AnalysisConfig:
        changed = {f.name: getattr(self, f.name) for f in fields(self)}
        return AnalysisConfig(
            **{k: getattr(base, k) if v is None else v for k, v in changed.items()}
        )


@dataclass(frozen=True, slots=True)
class ExperimentChanges:
    """CreateExperiment's or UpdateExperiment's settings; None keeps (or defaults) a value."""

    description: str | None = None
    treatments: tuple[Treatment, ...] | None = None
    metric_goals: tuple[MetricGoal, ...] | None = None
    control_treatment: str | None = None
    treatment_weights: Mapping[str, int] | None = None
    randomization_salt: str | None = None
    sampling_rate: int | None = None
    segment: str | None = None
    remove_segment: bool = False
    analysis: AnalysisChanges | None = None
    sticky_assignment: bool | None = None
    exposure: ExposureEvent | None = None
    remove_exposure: bool = False
    # Seed 004's fields; an empty hypothesis clears it, links replace the whole map.
    hypothesis: str | None = None
    links: Mapping[str, str] | None = None
    subject_type: str | None = None
    parent_id: str | None = None


@dataclass(frozen=True, slots=True)
class LaunchChanges:
    """CreateLaunch's or UpdateLaunch's settings; None keeps (or defaults) a value."""

    description: str | None = None
    groups: tuple[LaunchGroup, ...] | None = None
    metric_monitors: tuple[MetricDefinition, ...] | None = None
    randomization_salt: str | None = None
    steps: tuple[ScheduledStep, ...] | None = None


def even_split(names: Sequence[str]) -> dict[str, int]:
    share, rest = divmod(TOTAL_WEIGHT, len(names))
    return {n: share + (rest if i == 0 else 0) for i, n in enumerate(names)}


def _pick(given: T | None, current: T) -> T:
    return current if given is None else given


@dataclass
class ControlPlane:
    store: EventLog
    feed: Follower
    view: ConfigView
    arns: ArnScheme
    clock: Callable[[], datetime] = utcnow
    quotas: Quotas = field(default_factory=Quotas)

    async def _execute(
        self,
        stream: str,
        load: Callable[[], S | None],
        decide: Callable[[S | None, datetime], Sequence[object]],
        context: Context,
    ) -> None:
        expected = context.expected_version
        metadata = {"requestId": context.request_id} if context.request_id else {}
        for _ in range(_RETRIES):
            state = load()
            current = state.version if state is not None else 0
            if expected is not None and expected != current:
                raise Conflict(f"{stream} is at resourceVersion {current}, not {expected}", stream)
            events = decide(state, self.clock())
            try:
                appended = await self.store.append(
                    stream, current, [to_new_event(e, metadata) for e in events]
                )
            except ConcurrencyError as exc:
                if expected is not None:
                    raise Conflict(
                        f"{stream} is at resourceVersion {exc.actual}, not {expected}", stream
                    ) from None
                await self.feed.catch_up()
                await asyncio.sleep(random.uniform(0, _BACKOFF_SECONDS))
                continue
            await self.feed.wait_for(appended[-1].position)
            return
        raise Conflict(f"too many concurrent writers on {stream}; try again", stream)

    # Commands on an existing resource: load it (NotFound if it is not there), decide,
    # append, and return it as the view now has it (flagged deleted after a delete).

    async def _on(
        self,
        stream: str,
        load: Callable[[], S],
        stored: Callable[[], S | None],
        decide: Callable[[S, datetime], Sequence[object]],
        context: Context,
    ) -> S:
        await self._execute(stream, load, lambda state, now: decide(_present(state), now), context)
        return _present(stored())

    async def _on_project(
        self, name: str, decide: Callable[[Project, datetime], Sequence[object]], context: Context
    ) -> Project:
        return await self._on(
            project_agg.stream(name),
            lambda: queries.project(self.view, name),
            lambda: self.view.projects.get(name),
            decide,
            context,
        )

    async def _on_feature(
        self,
        project: str,
        name: str,
        decide: Callable[[Feature, datetime], Sequence[object]],
        context: Context,
    ) -> Feature:
        return await self._on(
            feature_agg.stream(project, name),
            lambda: queries.feature(self.view, project, name),
            lambda: self.view.features.get((project, name)),
            decide,
            context,
        )

    async def _on_launch(
        self,
        project: str,
        name: str,
        decide: Callable[[Launch, datetime], Sequence[object]],
        context: Context,
    ) -> Launch:
        return await self._on(
            launch_agg.stream(project, name),
            lambda: queries.launch(self.view, project, name),
            lambda: self.view.launches.get((project, name)),
            decide,
            context,
        )

    async def _on_experiment(
        self,
        project: str,
        name: str,
        decide: Callable[[Experiment, datetime], Sequence[object]],
        context: Context,
    ) -> Experiment:
        return await self._on(
            experiment_agg.stream(project, name),
            lambda: queries.experiment(self.view, project, name),
            lambda: self.view.experiments.get((project, name)),
            decide,
            context,
        )

    async def _on_segment(
        self, name: str, decide: Callable[[Segment, datetime], Sequence[object]], context: Context
    ) -> Segment:
        return await self._on(
            segment_agg.stream(name),
            lambda: queries.segment(self.view, name),
            lambda: self.view.segments.get(name),
            decide,
            context,
        )

    def _quota(self, count: int, limit: int, what: str) -> None:
        if count >= limit:
            raise QuotaExceeded(f"the quota of {limit} {what} is reached", resource_type=what)

    def _segments(self) -> frozenset[str]:
        return frozenset(s.name for s in self.view.live_segments())

    # -- projects ------------------------------------------------------------------

    async def create_project(
        self,
        name: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        data_delivery: DataDelivery | None = None,
        app_config: AppConfigResource | None = None,
        context: Context = Context(),
    ) -> Project:
        def decide(existing: Project | None, now: datetime) -> Sequence[object]:
            live = sum(1 for p in self.view.projects.values() if not p.deleted)
            self._quota(live, self.quotas.projects, "projects")
            return project_agg.create_project(
                existing,
                name=name,
                description=description,
                tags=tags or {},
                data_delivery=data_delivery,
                app_config_resource=_with_profile(name, app_config),
                now=now,
            )

        await self._execute(
            project_agg.stream(name), lambda: self.view.projects.get(name), decide, context
        )
        return queries.project(self.view, name)

    def get_project(self, name: str) -> Project:
        return queries.project(self.view, name)

    def list_projects(self) -> list[Project]:
        return [p for p in self.view.projects.values() if not p.deleted]

    async def update_project(
        self,
        name: str,
        *,
        description: str | None = None,
        app_config: AppConfigResource | None = None,
        context: Context = Context(),
    ) -> Project:
        return await self._on_project(
            name,
            lambda project, now: project_agg.update_project(
                project,
                description=description,
                app_config_resource=_with_profile(name, app_config),
                now=now,
            ),
            context,
        )

    async def update_project_data_delivery(
        self, name: str, data_delivery: DataDelivery | None, context: Context = Context()
    ) -> Project:
        return await self._on_project(
            name,
            lambda project, now: project_agg.update_data_delivery(project, data_delivery, now),
            context,
        )

    async def delete_project(self, name: str, context: Context = Context()) -> None:
        await self._on_project(
            name,
            lambda project, now: project_agg.delete_project(
                project, resources_left=queries.resources_left(self.view, name), now=now
            ),
            context,
        )

    # -- features ------------------------------------------------------------------

    async def create_feature(
        self,
        project: str,
        name: str,
        *,
        variations: Sequence[Variation],
        description: str | None = None,
        default_variation: str | None = None,
        evaluation_strategy: str | None = None,
        entity_overrides: Mapping[str, str] | None = None,
        tags: Mapping[str, str] | None = None,
        context: Context = Context(),
    ) -> Feature:
        queries.project(self.view, project)

        def decide(existing: Feature | None, now: datetime) -> Sequence[object]:
            live = sum(1 for _ in self.view.live_features(project))
            self._quota(live, self.quotas.features_per_project, "features per project")
            return feature_agg.create_feature(
                existing,
                project=project,
                name=name,
                description=description,
                variations=variations,
                default_variation=default_variation,
                evaluation_strategy=evaluation_strategy,
                entity_overrides=entity_overrides or {},
                tags=tags or {},
                now=now,
            )

        await self._execute(
            feature_agg.stream(project, name),
            lambda: self.view.features.get((project, name)),
            decide,
            context,
        )
        return queries.feature(self.view, project, name)

    def get_feature(self, project: str, name: str) -> Feature:
        return queries.feature(self.view, project, name)

    def list_features(self, project: str) -> list[Feature]:
        queries.project(self.view, project)
        return list(self.view.live_features(project))

    async def update_feature(
        self,
        project: str,
        name: str,
        *,
        description: str | None = None,
        add_or_update: Sequence[Variation] = (),
        remove: Sequence[str] = (),
        default_variation: str | None = None,
        evaluation_strategy: str | None = None,
        entity_overrides: Mapping[str, str] | None = None,
        context: Context = Context(),
    ) -> Feature:
        def decide(feature: Feature, now: datetime) -> Sequence[object]:
            return feature_agg.update_feature(
                feature,
                description=description,
                add_or_update=add_or_update,
                remove=remove,
                default_variation=default_variation,
                evaluation_strategy=evaluation_strategy,
                entity_overrides=entity_overrides,
                variations_in_use=queries.held_variations(self.view, feature, now),
                now=now,
            )

        return await self._on_feature(project, name, decide, context)

    async def delete_feature(self, project: str, name: str, context: Context = Context()) -> None:
        def decide(feature: Feature, now: datetime) -> Sequence[object]:
            users = queries.feature_use(self.view, feature, now).users
            return feature_agg.delete_feature(feature, used_by=users, now=now)

        await self._on_feature(project, name, decide, context)

    def evaluation_rules(self, feature: Feature) -> list[tuple[str, str]]:
        """(name, type) of the running launches and experiments deciding a feature."""
        use = queries.feature_use(self.view, feature, self.clock())
        return [(x.name, "aws.evidently.splits") for x in use.launches] + [
            (x.name, "aws.evidently.onlineab") for x in use.experiments
        ]

    # -- launches ------------------------------------------------------------------

    async def create_launch(
        self,
        project: str,
        name: str,
        settings: LaunchChanges,
        *,
        tags: Mapping[str, str] | None = None,
        context: Context = Context(),
    ) -> Launch:
        queries.project(self.view, project)
        if not settings.groups:
            raise Invalid("a launch has 1 to 5 groups", field="groups")
        groups = settings.groups

        def decide(existing: Launch | None, now: datetime) -> Sequence[object]:
            live = sum(1 for _ in self.view.live_launches(project))
            self._quota(live, self.quotas.launches_per_project, "launches per project")
            config = LaunchConfig(
                description=settings.description,
                groups=groups,
                metric_monitors=settings.metric_monitors or (),
                randomization_salt=settings.randomization_salt or name,
                steps=settings.steps or (ScheduledStep(now, even_split([g.name for g in groups])),),
            )
            return launch_agg.create_launch(
                existing,
                project=project,
                name=name,
                config=config,
                tags=tags or {},
                feature=lambda f: self.view.feature(project, f),
                segments=self._segments(),
                now=now,
            )

        await self._execute(
            launch_agg.stream(project, name),
            lambda: self.view.launches.get((project, name)),
            decide,
            context,
        )
        return queries.launch(self.view, project, name)

    def get_launch(self, project: str, name: str) -> Launch:
        return queries.launch(self.view, project, name)

    def list_launches(self, project: str, status: str | None = None) -> list[Launch]:
        queries.project(self.view, project)
        return [x for x in self.view.live_launches(project) if status is None or x.status == status]

    async def update_launch(
        self, project: str, name: str, changes: LaunchChanges, context: Context = Context()
    ) -> Launch:
        def decide(launch: Launch, now: datetime) -> Sequence[object]:
            old = launch.config
            config = LaunchConfig(
                description=_pick(changes.description, old.description),
                groups=_pick(changes.groups, old.groups),
                metric_monitors=_pick(changes.metric_monitors, old.metric_monitors),
                randomization_salt=changes.randomization_salt or old.randomization_salt,
                steps=_pick(changes.steps, old.steps),
            )
            return launch_agg.update_launch(
                launch,
                config,
                feature=lambda f: self.view.feature(project, f),
                segments=self._segments(),
                now=now,
            )

        return await self._on_launch(project, name, decide, context)

    async def start_launch(self, project: str, name: str, context: Context = Context()) -> Launch:
        def decide(launch: Launch, now: datetime) -> Sequence[object]:
            busy = {
                f for f, x in queries.running_launches(self.view, project).items() if x.name != name
            }
            return launch_agg.start_launch(launch, features_in_running_launches=busy, now=now)

        return await self._on_launch(project, name, decide, context)

    async def stop_launch(
        self,
        project: str,
        name: str,
        *,
        desired_state: str | None = None,
        reason: str | None = None,
        context: Context = Context(),
    ) -> Launch:
        return await self._on_launch(
            project,
            name,
            lambda launch, now: launch_agg.stop_launch(
                launch, desired_state=desired_state, reason=reason, now=now
            ),
            context,
        )

    async def delete_launch(self, project: str, name: str, context: Context = Context()) -> None:
        await self._on_launch(
            project, name, lambda launch, now: launch_agg.delete_launch(launch, now), context
        )

    # -- experiments ---------------------------------------------------------------

    async def create_experiment(
        self,
        project: str,
        name: str,
        settings: ExperimentChanges,
        *,
        tags: Mapping[str, str] | None = None,
        context: Context = Context(),
    ) -> Experiment:
        queries.project(self.view, project)
        if not settings.treatments:
            raise Invalid("an experiment has 1 to 5 treatments", field="treatments")
        if not settings.metric_goals:
            raise Invalid("an experiment has 1 to 3 metricGoals", field="metricGoals")
        treatments, goals = settings.treatments, settings.metric_goals

        def decide(existing: Experiment | None, now: datetime) -> Sequence[object]:
            live = sum(1 for _ in self.view.live_experiments(project))
            self._quota(live, self.quotas.experiments_per_project, "experiments per project")
            config = ExperimentConfig(
                description=settings.description,
                treatments=treatments,
                metric_goals=goals,
                control_treatment=settings.control_treatment or treatments[0].name,
                treatment_weights=dict(settings.treatment_weights)
                if settings.treatment_weights
                else even_split([t.name for t in treatments]),
                randomization_salt=settings.randomization_salt or name,
                sampling_rate=_pick(settings.sampling_rate, DEFAULT_SAMPLING_RATE),
                segment=settings.segment,
                analysis=(settings.analysis or AnalysisChanges()).applied_to(AnalysisConfig()),
                sticky_assignment=_pick(settings.sticky_assignment, True),
                exposure=settings.exposure,
                hypothesis=settings.hypothesis,
                links=dict(settings.links or {}),
                subject_type=_pick(settings.subject_type, DEFAULT_SUBJECT_TYPE),
                parent_id=_pick(settings.parent_id, DEFAULT_LAB),
            )
            return experiment_agg.create_experiment(
                existing,
                project=project,
                name=name,
                config=config,
                tags=tags or {},
                feature=lambda f: self.view.feature(project, f),
                segments=self._segments(),
                now=now,
                experiment_id=str(uuid.uuid4()),
            )

        await self._execute(
            experiment_agg.stream(project, name),
            lambda: self.view.experiments.get((project, name)),
            decide,
            context,
        )
        return queries.experiment(self.view, project, name)

    def get_experiment(self, project: str, name: str) -> Experiment:
        return queries.experiment(self.view, project, name)

    def list_experiments(
        self, project: str, status: str | None = None, include_archived: bool = False
    ) -> list[Experiment]:
        queries.project(self.view, project)
        now = self.clock()
        # Seed 004: archived experiments are hidden from view unless asked for.
        return [
            x
            for x in self.view.live_experiments(project)
            if (status is None or x.status_at(now) == status)
            and (include_archived or not x.archived)
        ]

    def list_lab_experiments(
        self,
        lab: str,
        readable: Callable[[str], bool] | None = None,
        include_archived: bool = False,
    ) -> list[Experiment]:
        """Seed 004: the experiments whose parentId is ``lab`` (any case), in the projects
        ``readable`` allows (all without it); archived ones only if asked for, as
        ListExperiments."""
        chosen = queries.lab_experiments(self.view, experiment_agg.lab_id(lab))
        return [
            x
            for x in chosen
            if (readable is None or readable(x.project)) and (include_archived or not x.archived)
        ]

    async def update_experiment(
        self, project: str, name: str, changes: ExperimentChanges, context: Context = Context()
    ) -> Experiment:
        if changes.remove_segment and changes.segment:
            raise Invalid("give segment or removeSegment, not both", field="removeSegment")
        if changes.remove_exposure and changes.exposure:
            raise Invalid(
                "give exposureEvent or removeExposureEvent, not both", field="removeExposureEvent"
            )

        def decide(experiment: Experiment, now: datetime) -> Sequence[object]:
            old = experiment.config
            treatments = _pick(changes.treatments, old.treatments)
            weights = old.treatment_weights
            if changes.treatment_weights:
                weights = dict(changes.treatment_weights)
            elif changes.treatments is not None:
                weights = even_split([t.name for t in treatments])
            segment = old.segment
            if changes.remove_segment:
                segment = None
            elif changes.segment:
                segment = changes.segment
            config = ExperimentConfig(
                description=_pick(changes.description, old.description),
                treatments=treatments,
                metric_goals=_pick(changes.metric_goals, old.metric_goals),
                control_treatment=changes.control_treatment or old.control_treatment,
                treatment_weights=weights,
                randomization_salt=changes.randomization_salt or old.randomization_salt,
                sampling_rate=_pick(changes.sampling_rate, old.sampling_rate),
                segment=segment,
                analysis=(changes.analysis or AnalysisChanges()).applied_to(old.analysis),
                sticky_assignment=_pick(changes.sticky_assignment, old.sticky_assignment),
                exposure=None if changes.remove_exposure else _pick(changes.exposure, old.exposure),
                hypothesis=_pick(changes.hypothesis, old.hypothesis),
                links=dict(_pick(changes.links, old.links)),
                subject_type=_pick(changes.subject_type, old.subject_type),
                parent_id=_pick(changes.parent_id, old.parent_id),
            )
            return experiment_agg.update_experiment(
                experiment,
                config,
                feature=lambda f: self.view.feature(project, f),
                segments=self._segments(),
                now=now,
            )

        return await self._on_experiment(project, name, decide, context)

    async def start_experiment(
        self,
        project: str,
        name: str,
        analysis_complete_time: datetime,
        context: Context = Context(),
    ) -> Experiment:
        def decide(experiment: Experiment, now: datetime) -> Sequence[object]:
            running = queries.running_experiments(self.view, project, now).get(experiment.feature)
            return experiment_agg.start_experiment(
                experiment,
                analysis_complete_time=analysis_complete_time,
                feature_has_running_experiment=running is not None and running.name != name,
                now=now,
            )

        return await self._on_experiment(project, name, decide, context)

    async def stop_experiment(
        self,
        project: str,
        name: str,
        *,
        desired_state: str | None = None,
        reason: str | None = None,
        ended_reason: str | None = None,
        context: Context = Context(),
    ) -> Experiment:
        return await self._on_experiment(
            project,
            name,
            lambda experiment, now: experiment_agg.stop_experiment(
                experiment,
                desired_state=desired_state,
                reason=reason,
                ended_reason=ended_reason,
                now=now,
            ),
            context,
        )

    async def declare_winner(
        self, project: str, name: str, treatment: str, context: Context = Context()
    ) -> Experiment:
        return await self._on_experiment(
            project,
            name,
            lambda experiment, now: experiment_agg.declare_winner(experiment, treatment, now),
            context,
        )

    async def archive_experiment(
        self, project: str, name: str, context: Context = Context()
    ) -> Experiment:
        return await self._on_experiment(
            project,
            name,
            lambda experiment, now: experiment_agg.archive_experiment(experiment, now),
            context,
        )

    async def delete_experiment(
        self, project: str, name: str, context: Context = Context()
    ) -> None:
        await self._on_experiment(
            project,
            name,
            lambda experiment, now: experiment_agg.delete_experiment(experiment, now),
            context,
        )

    # -- segments ------------------------------------------------------------------

    async def create_access_key(
        self,
        key_id: str,
        sealed_secret: str,
        scope: str,
        *,
        projects: Collection[str] = (),
        description: str | None = None,
        context: Context = Context(),
    ) -> AccessKey:
        """Record a key minted and sealed by the caller (``shared/credentials.py``): the
        control plane never sees a secret in clear."""

        def decide(existing: AccessKey | None, now: datetime) -> Sequence[object]:
            known = [p.name for p in self.view.projects.values() if not p.deleted]
            return access_agg.create_key(
                existing,
                key_id=key_id,
                sealed_secret=sealed_secret,
                scope=scope,
                projects=projects,
                known_projects=known,
                description=description,
                now=now,
            )

        await self._execute(
            access_agg.stream(key_id), lambda: self.view.access_keys.get(key_id), decide, context
        )
        return self.view.access_keys[key_id]

    async def revoke_access_key(self, key_id: str, *, context: Context = Context()) -> AccessKey:
        def decide(existing: AccessKey | None, now: datetime) -> Sequence[object]:
            if existing is None:
                raise NotFound(f"access key {key_id} does not exist", key_id, "AccessKey")
            return access_agg.revoke_key(existing, now=now)

        await self._execute(
            access_agg.stream(key_id), lambda: self.view.access_keys.get(key_id), decide, context
        )
        return self.view.access_keys[key_id]

    async def create_segment(
        self,
        name: str,
        pattern: str,
        *,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
        context: Context = Context(),
    ) -> Segment:
        def decide(existing: Segment | None, now: datetime) -> Sequence[object]:
            live = sum(1 for _ in self.view.live_segments())
            self._quota(live, self.quotas.segments, "segments")
            return segment_agg.create_segment(
                existing,
                name=name,
                pattern=pattern,
                description=description,
                tags=tags or {},
                now=now,
            )

        await self._execute(
            segment_agg.stream(name), lambda: self.view.segments.get(name), decide, context
        )
        return queries.segment(self.view, name)

    def get_segment(self, name: str) -> Segment:
        return queries.segment(self.view, name)

    def list_segments(self) -> list[Segment]:
        return list(self.view.live_segments())

    def segment_references(self, name: str, kind: str) -> list[Launch | Experiment]:
        queries.segment(self.view, name)
        if kind == "LAUNCH":
            return list(self.view.segment_launches(name))
        return list(self.view.segment_experiments(name))

    async def delete_segment(self, name: str, context: Context = Context()) -> None:
        await self._on_segment(
            name,
            lambda segment, now: segment_agg.delete_segment(
                segment, used_by=queries.segment_users(self.view, name), now=now
            ),
            context,
        )

    @staticmethod
    def test_segment_pattern(pattern: str, payload: Mapping[str, Any]) -> bool:
        compiled = compile_pattern(pattern, field="pattern", max_length=MAX_PATTERN_LENGTH)
        return compiled.matches(payload)

    # -- tags and history of any resource ------------------------------------------

    def _resource(self, ref: ResourceRef) -> tuple[str, Callable[[], Any]]:
        """(stream id, loader raising NotFound) of the resource a reference names."""
        view, project = self.view, ref.project or ""
        loaders: dict[ResourceKind, Callable[[], Any]] = {
            ResourceKind.PROJECT: lambda: queries.project(view, ref.name),
            ResourceKind.SEGMENT: lambda: queries.segment(view, ref.name),
            ResourceKind.FEATURE: lambda: queries.feature(view, project, ref.name),
            ResourceKind.LAUNCH: lambda: queries.launch(view, project, ref.name),
            ResourceKind.EXPERIMENT: lambda: queries.experiment(view, project, ref.name),
        }
        return ref.stream, loaders[ref.kind]

    async def _retag(
        self,
        ref: ResourceRef,
        change: Callable[[dict[str, str]], dict[str, str]],
        context: Context,
    ) -> None:
        stream, load = self._resource(ref)

        def decide(state: Any, now: datetime) -> Sequence[object]:
            tags = change(dict(state.tags))
            check_tag_count(tags)
            return [TagsChanged(now, tags)]

        await self._execute(stream, load, decide, context)

    async def tag_resource(
        self, ref: ResourceRef, tags: Mapping[str, str], context: Context = Context()
    ) -> None:
        await self._retag(ref, lambda current: {**current, **tags}, context)

    async def untag_resource(
        self, ref: ResourceRef, keys: Sequence[str], context: Context = Context()
    ) -> None:
        gone = set(keys)
        await self._retag(
            ref, lambda current: {k: v for k, v in current.items() if k not in gone}, context
        )

    def tags_of(self, ref: ResourceRef) -> dict[str, str]:
        _, load = self._resource(ref)
        return dict(load().tags)

    async def history(self, ref: ResourceRef) -> tuple[str, list[Envelope]]:
        """The audit log: every event of one resource's stream, oldest first."""
        stream, load = self._resource(ref)
        load()
        return stream, await self.store.read_stream(stream)


def _present(state: S | None) -> S:
    """For decide functions of commands on existing resources (their loader checked)."""
    assert state is not None
    return state


def _with_profile(project: str, config: AppConfigResource | None) -> AppConfigResource | None:
    """The configuration profile Evidently would have created, minted once and stored."""
    if config is None:
        return None
    return AppConfigResource(
        config.application_id, config.environment_id, config.profile_id(project)
    )
