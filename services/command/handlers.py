"""Command handlers: load the aggregate from the view, call the domain, append.

Each handler is named after the Evidently operation. The append carries the
aggregate's version as the optimistic concurrency check; the handler returns
once the view has applied its own events, so a Get right after sees them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from shared.domain import feature as feature_agg
from shared.domain import project as project_agg
from shared.domain.arn import ArnScheme
from shared.domain.events import AppConfigResource, DataDelivery
from shared.domain.feature import Feature
from shared.domain.project import Project
from shared.domain.projection import ConfigView, to_new_event
from shared.domain.values import Variation
from shared.errors import ConflictException, ResourceNotFoundException
from shared.eventstore import ConcurrencyError, EventStore
from shared.feed import Feed

T = TypeVar("T")

# A writer that raced another one (without asking for a version) retries on the
# caught-up view; a caller that supplied If-Match gets the conflict instead.
_RETRIES = 3


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class CommandHandlers:
    store: EventStore
    feed: Feed
    view: ConfigView
    arns: ArnScheme
    clock: Callable[[], datetime] = utcnow

    async def _append(self, stream: str, version: int, events: Sequence[object]) -> None:
        envelopes = await self.store.append(stream, version, [to_new_event(e) for e in events])
        await self.feed.wait_for(envelopes[-1].position)

    async def _run(self, attempt: Callable[[], Awaitable[T]], if_match: int | None) -> T:
        for _ in range(_RETRIES):
            try:
                return await attempt()
            except ConcurrencyError as exc:
                if if_match is not None:
                    raise ConflictException(
                        f"{exc.stream} is at version {exc.actual}, not {if_match}",
                        exc.stream,
                    ) from None
                await self.feed.catch_up()
                await asyncio.sleep(0)
        raise ConflictException("too many concurrent writers, try again")

    @staticmethod
    def _check_version(current: int, if_match: int | None, resource: str) -> None:
        if if_match is not None and if_match != current:
            raise ConflictException(
                f"{resource} is at resourceVersion {current}, not {if_match}", resource
            )

    # -- lookups -------------------------------------------------------

    def project(self, name: str) -> Project:
        project = self.view.project(name)
        if project is None:
            raise ResourceNotFoundException(f"project {name} does not exist", name, "Project")
        return project

    def feature(self, project: str, name: str) -> Feature:
        self.project(project)
        feature = self.view.feature(project, name)
        if feature is None:
            raise ResourceNotFoundException(
                f"feature {name} does not exist in project {project}", name, "Feature"
            )
        return feature

    # -- projects ------------------------------------------------------

    async def create_project(
        self,
        *,
        name: str,
        description: str | None,
        tags: dict[str, str],
        data_delivery: DataDelivery | None,
        app_config_resource: AppConfigResource | None,
    ) -> Project:
        async def attempt() -> Project:
            existing = self.view.projects.get(name)
            events = project_agg.create_project(
                existing,
                name=name,
                description=description,
                tags=tags,
                data_delivery=data_delivery,
                app_config_resource=app_config_resource,
                now=self.clock(),
            )
            await self._append(
                project_agg.stream(name), existing.version if existing else 0, events
            )
            return self.project(name)

        return await self._run(attempt, None)

    async def update_project(
        self,
        name: str,
        *,
        description: str | None,
        app_config_resource: AppConfigResource | None,
        if_match: int | None = None,
    ) -> Project:
        async def attempt() -> Project:
            project = self.project(name)
            self._check_version(project.version, if_match, name)
            events = project_agg.update_project(
                project,
                description=description,
                app_config_resource=app_config_resource,
                now=self.clock(),
            )
            await self._append(project_agg.stream(name), project.version, events)
            return self.project(name)

        return await self._run(attempt, if_match)

    async def update_project_data_delivery(
        self, name: str, data_delivery: DataDelivery | None, if_match: int | None = None
    ) -> Project:
        async def attempt() -> Project:
            project = self.project(name)
            self._check_version(project.version, if_match, name)
            events = project_agg.update_data_delivery(project, data_delivery, self.clock())
            await self._append(project_agg.stream(name), project.version, events)
            return self.project(name)

        return await self._run(attempt, if_match)

    async def delete_project(self, name: str, if_match: int | None = None) -> None:
        async def attempt() -> None:
            project = self.project(name)
            self._check_version(project.version, if_match, name)
            left = sum(1 for _ in self.view.live_features(name))
            events = project_agg.delete_project(project, resources_left=left, now=self.clock())
            await self._append(project_agg.stream(name), project.version, events)

        await self._run(attempt, if_match)

    # -- features ------------------------------------------------------

    async def create_feature(
        self,
        project: str,
        *,
        name: str,
        description: str | None,
        variations: Sequence[Variation],
        default_variation: str | None,
        evaluation_strategy: str | None,
        entity_overrides: dict[str, str],
        tags: dict[str, str],
    ) -> Feature:
        async def attempt() -> Feature:
            self.project(project)
            existing = self.view.features.get((project, name))
            events = feature_agg.create_feature(
                existing,
                project=project,
                name=name,
                description=description,
                variations=variations,
                default_variation=default_variation,
                evaluation_strategy=evaluation_strategy,
                entity_overrides=entity_overrides,
                tags=tags,
                now=self.clock(),
            )
            await self._append(
                feature_agg.stream(project, name), existing.version if existing else 0, events
            )
            return self.feature(project, name)

        return await self._run(attempt, None)

    async def update_feature(
        self,
        project: str,
        name: str,
        *,
        description: str | None,
        add_or_update: Sequence[Variation],
        remove: Sequence[str],
        default_variation: str | None,
        evaluation_strategy: str | None,
        entity_overrides: dict[str, str] | None,
        if_match: int | None = None,
    ) -> Feature:
        async def attempt() -> Feature:
            feature = self.feature(project, name)
            self._check_version(feature.version, if_match, name)
            events = feature_agg.update_feature(
                feature,
                description=description,
                add_or_update=add_or_update,
                remove=remove,
                default_variation=default_variation,
                evaluation_strategy=evaluation_strategy,
                entity_overrides=entity_overrides,
                variations_in_use=(),
                now=self.clock(),
            )
            await self._append(feature_agg.stream(project, name), feature.version, events)
            return self.feature(project, name)

        return await self._run(attempt, if_match)

    async def delete_feature(self, project: str, name: str, if_match: int | None = None) -> None:
        async def attempt() -> None:
            feature = self.feature(project, name)
            self._check_version(feature.version, if_match, name)
            events = feature_agg.delete_feature(feature, used_by=(), now=self.clock())
            await self._append(feature_agg.stream(project, name), feature.version, events)

        await self._run(attempt, if_match)
