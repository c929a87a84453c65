"""Command execution: load the aggregate from the view, decide, append at its version.

Every control-plane operation is one ``execute`` call: the endpoint supplies
how to load the aggregate and the domain function that decides its events.
The append carries the aggregate's version as the optimistic concurrency
check; execute returns once the view has applied its own events, so a read
right after sees them.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TypeVar

from shared.domain.arn import ArnScheme
from shared.domain.experiment import Experiment
from shared.domain.feature import Feature
from shared.domain.launch import Launch
from shared.domain.project import Project
from shared.domain.projection import ConfigView, to_new_event
from shared.domain.segment import Segment
from shared.errors import ConflictException, ResourceNotFoundException
from shared.eventstore import ConcurrencyError, EventStore
from shared.feed import Feed

# A writer that raced another one (without asking for a version) retries on the
# caught-up view; a caller that supplied If-Match gets the conflict instead.
# Each round one racer wins, so N racers need up to N rounds.
_RETRIES = 32
_BACKOFF_SECONDS = 0.002


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


S = TypeVar("S", bound=Versioned)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Quotas:
    """Service quotas, answered with ServiceQuotaExceededException past them."""

    projects: int = 1000
    features_per_project: int = 1000
    launches_per_project: int = 100
    experiments_per_project: int = 100
    segments: int = 500


@dataclass
class CommandHandlers:
    store: EventStore
    feed: Feed
    view: ConfigView
    arns: ArnScheme
    clock: Callable[[], datetime] = utcnow
    quotas: Quotas = field(default_factory=Quotas)

    async def execute(
        self,
        stream: str,
        load: Callable[[], S | None],
        decide: Callable[[S | None, datetime], Sequence[object]],
        *,
        if_match: int | None = None,
        metadata: dict[str, str] | None = None,
    ) -> None:
        for _ in range(_RETRIES):
            state = load()
            current = state.version if state is not None else 0
            if if_match is not None and if_match != current:
                raise ConflictException(
                    f"{stream} is at resourceVersion {current}, not {if_match}", stream
                )
            events = decide(state, self.clock())
            try:
                appended = await self.store.append(
                    stream, current, [to_new_event(e, metadata) for e in events]
                )
            except ConcurrencyError as exc:
                if if_match is not None:
                    raise ConflictException(
                        f"{stream} is at resourceVersion {exc.actual}, not {if_match}", stream
                    ) from None
                await self.feed.catch_up()
                await asyncio.sleep(random.uniform(0, _BACKOFF_SECONDS))
                continue
            await self.feed.wait_for(appended[-1].position)
            return
        raise ConflictException(f"too many concurrent writers on {stream}; try again", stream)

    # -- lookups that answer ResourceNotFoundException ---------------------

    def project(self, name: str) -> Project:
        project = self.view.project(name)
        if project is None:
            raise ResourceNotFoundException(f"project {name} does not exist", name, "Project")
        return project

    def feature(self, project: str, name: str) -> Feature:
        self.project(project)
        found = self.view.feature(project, name)
        if found is None:
            raise ResourceNotFoundException(
                f"feature {name} does not exist in project {project}", name, "Feature"
            )
        return found

    def launch(self, project: str, name: str) -> Launch:
        self.project(project)
        found = self.view.launch(project, name)
        if found is None:
            raise ResourceNotFoundException(
                f"launch {name} does not exist in project {project}", name, "Launch"
            )
        return found

    def experiment(self, project: str, name: str) -> Experiment:
        self.project(project)
        found = self.view.experiment(project, name)
        if found is None:
            raise ResourceNotFoundException(
                f"experiment {name} does not exist in project {project}", name, "Experiment"
            )
        return found

    def segment(self, name: str) -> Segment:
        found = self.view.segment(name)
        if found is None:
            raise ResourceNotFoundException(f"segment {name} does not exist", name, "Segment")
        return found

    def live_segment_names(self) -> frozenset[str]:
        return frozenset(s.name for s in self.view.live_segments())


def require(state: S | None) -> S:
    """For decide functions of commands on existing resources (load already checked)."""
    assert state is not None
    return state
