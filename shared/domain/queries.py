"""Questions that span aggregates, asked of the configuration view, answered once.

Which launch or experiment runs on a feature, which variations they hold, who uses a
segment, what a project still contains, and the lookups that say "does not exist".
The control plane, the evaluation service and the results service all ask them here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from shared.domain.errors import NotFound
from shared.domain.experiment import Experiment
from shared.domain.feature import Feature
from shared.domain.launch import Launch
from shared.domain.project import Project
from shared.domain.projection import ConfigView
from shared.domain.segment import Segment
from shared.domain.values import Status

T = TypeVar("T")


def _experiment_running(experiment: Experiment, now: datetime | None) -> bool:
    # Without a time, the stored status: the evaluation service leaves the end at
    # analysisCompleteTime to ``evaluate``, which knows the time of each call.
    status = experiment.status if now is None else experiment.status_at(now)
    return status == Status.RUNNING


def running_launches(view: ConfigView, project: str) -> dict[str, Launch]:
    """The running launch of each feature of a project that has one."""
    running: dict[str, Launch] = {}
    for launch in view.live_launches(project):
        if launch.status == Status.RUNNING:
            for feature in launch.features:
                running[feature] = launch
    return running


def running_experiments(
    view: ConfigView, project: str, now: datetime | None = None
) -> dict[str, Experiment]:
    """The running experiment of each feature of a project that has one."""
    return {x.feature: x for x in view.live_experiments(project) if _experiment_running(x, now)}


@dataclass(frozen=True, slots=True)
class FeatureUse:
    """What running launches and experiments hold of one feature."""

    launches: tuple[Launch, ...]
    experiments: tuple[Experiment, ...]

    @property
    def users(self) -> set[str]:
        return {f"launch {x.name}" for x in self.launches} | {
            f"experiment {x.name}" for x in self.experiments
        }


def feature_use(view: ConfigView, feature: Feature, now: datetime) -> FeatureUse:
    launches = tuple(
        x
        for x in view.launches_of_feature(feature.project, feature.name)
        if x.status == Status.RUNNING
    )
    experiments = tuple(
        x
        for x in view.experiments_of_feature(feature.project, feature.name)
        if _experiment_running(x, now)
    )
    return FeatureUse(launches, experiments)


def held_variations(view: ConfigView, feature: Feature, now: datetime) -> set[str]:
    """The variations of a feature that its running launch and experiment hand out."""
    use = feature_use(view, feature, now)
    # A launch's groups may span features: only this feature's variations are held.
    held = {g.variation for x in use.launches for g in x.config.groups if g.feature == feature.name}
    return held | {t.variation for x in use.experiments for t in x.config.treatments}


def segment_users(view: ConfigView, segment: str) -> set[str]:
    users = {f"launch {x.project}/{x.name}" for x in view.segment_launches(segment)}
    return users | {f"experiment {x.project}/{x.name}" for x in view.segment_experiments(segment)}


def lab_experiments(view: ConfigView, lab: str) -> list[Experiment]:
    """The live experiments of every project whose parent is ``lab`` (seed 004's
    ``parentId``, stored in uppercase: ``lab`` is given so)."""
    return [
        x
        for (project, _), x in view.experiments.items()
        if not x.deleted and x.config.parent_id == lab and view.project(project) is not None
    ]


def resources_left(view: ConfigView, project: str) -> int:
    """Features, launches and experiments still in a project (it can't be deleted with any)."""
    return (
        sum(1 for _ in view.live_features(project))
        + sum(1 for _ in view.live_launches(project))
        + sum(1 for _ in view.live_experiments(project))
    )


# -- lookups that answer NotFound ------------------------------------------------------


def _found(value: T | None, kind: str, name: str, project_name: str | None = None) -> T:
    if value is None:
        where = f" in project {project_name}" if project_name is not None else ""
        raise NotFound(f"{kind.lower()} {name} does not exist{where}", name, kind)
    return value


def project(view: ConfigView, name: str) -> Project:
    return _found(view.project(name), "Project", name)


def feature(view: ConfigView, project_name: str, name: str) -> Feature:
    project(view, project_name)
    return _found(view.feature(project_name, name), "Feature", name, project_name)


def launch(view: ConfigView, project_name: str, name: str) -> Launch:
    project(view, project_name)
    return _found(view.launch(project_name, name), "Launch", name, project_name)


def experiment(view: ConfigView, project_name: str, name: str) -> Experiment:
    project(view, project_name)
    return _found(view.experiment(project_name, name), "Experiment", name, project_name)


def segment(view: ConfigView, name: str) -> Segment:
    return _found(view.segment(name), "Segment", name)
