"""A configuration view that follows the event feed: for services that only read it."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import asyncpg

from shared.domain.projection import ConfigView, apply
from shared.eventstore import EventStore, create_pool
from shared.feed import Feed
from shared.migrations import migrate


class ConfigFollower:
    def __init__(
        self,
        database_url: str,
        after_batch: Callable[[], object] | None = None,
        name: str = "service",
    ) -> None:
        self.database_url = database_url
        self.name = name
        self.view = ConfigView()
        self.after_batch = after_batch
        self.pool: asyncpg.Pool | None = None
        self.feed: Feed | None = None

    async def start(self) -> None:
        # Whoever starts first creates the tables; the rest find them recorded.
        await migrate(self.database_url)
        self.pool = await create_pool(self.database_url, max_size=2)
        self.feed = Feed(
            EventStore(self.pool),
            self.database_url,
            partial(apply, self.view),
            after_batch=self.after_batch,
            name=self.name,
        )
        await self.feed.start()

    async def stop(self) -> None:
        if self.feed is not None:
            await self.feed.stop()
        if self.pool is not None:
            await self.pool.close()

    @property
    def position(self) -> int:
        return self.feed.position if self.feed is not None else 0

    @property
    def lag(self) -> int:
        return self.feed.lag if self.feed is not None else 0

    async def catch_up(self) -> None:
        if self.feed is not None:
            await self.feed.catch_up()
