"""Compiled rules per feature, rebuilt when the projection changes, never per request.

The view's listener marks projects dirty as events apply; after each feed
batch ``refresh`` recompiles each dirty project once. A segment change
touches every project.
"""

from __future__ import annotations

from typing import Any

from shared.domain import queries
from shared.domain.evaluation import FeatureRules, compile_rules
from shared.domain.projection import ConfigView


class RulesCache:
    def __init__(self, view: ConfigView) -> None:
        self.view = view
        self.rules: dict[tuple[str, str], FeatureRules] = {}
        self.dirty: set[str] = set()
        self.all_dirty = False
        self.compilations = 0
        view.listeners.append(self.on_change)

    def on_change(self, kind: str, key: Any) -> None:
        if kind == "segment":
            self.all_dirty = True
        elif kind == "project":
            self.dirty.add(key)
        else:
            self.dirty.add(key[0])

    def refresh(self) -> None:
        projects = set(self.view.projects) if self.all_dirty else self.dirty
        self.all_dirty = False
        self.dirty = set()
        for project in projects:
            self._rebuild(project)

    def _rebuild(self, project: str) -> None:
        for key in [k for k in self.rules if k[0] == project]:
            del self.rules[key]
        if self.view.project(project) is None:
            return
        launches = queries.running_launches(self.view, project)
        # The stored status: ``evaluate`` ends an experiment at its analysisCompleteTime.
        experiments = queries.running_experiments(self.view, project)
        segments = {s.name: s.pattern for s in self.view.live_segments()}
        for feature in self.view.live_features(project):
            self.rules[(project, feature.name)] = compile_rules(
                feature, launches.get(feature.name), experiments.get(feature.name), segments
            )
            self.compilations += 1

    def get(self, project: str, feature: str) -> FeatureRules | None:
        return self.rules.get((project, feature))
