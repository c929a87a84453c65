"""`verdict keys create|list|revoke`, and the admin key `verdict up` makes on first start.

Keys are created by whoever can reach the database and the master key: the operator on
the box, as with `kubeadm token create`. The secret is minted here, sealed with the
master key before it leaves this process, and shown once; the event log keeps only the
sealed form.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from services.command.application import ControlPlane
from shared.config import Settings
from shared.credentials import MasterKey, new_key_id, new_secret
from shared.domain.access import AccessKey, Scope
from shared.domain.projection import ConfigView, apply
from shared.eventstore import EventStore, create_pool
from shared.feed import Feed
from shared.migrations import migrate

ADMIN_CREDENTIALS = "admin-credentials"


@dataclass(frozen=True, slots=True)
class NewKey:
    key_id: str
    secret: str
    scope: Scope
    projects: tuple[str, ...]


@asynccontextmanager
async def control_plane(database_url: str, settings: Settings) -> AsyncIterator[ControlPlane]:
    await migrate(database_url)
    pool = await create_pool(database_url)
    store = EventStore(pool)
    view = ConfigView()
    feed = Feed(store, database_url, partial(apply, view), name="keys")
    await feed.start()
    try:
        yield ControlPlane(store, feed, view, settings.arns())
    finally:
        await feed.stop()
        await pool.close()


async def create(
    database_url: str,
    settings: Settings,
    scope: Scope,
    projects: Collection[str] = (),
    description: str | None = None,
) -> NewKey:
    key_id, secret = new_key_id(), new_secret()
    sealed = MasterKey.of(settings).seal(key_id, secret)
    async with control_plane(database_url, settings) as plane:
        key = await plane.create_access_key(
            key_id, sealed, scope.value, projects=projects, description=description
        )
    return NewKey(key_id, secret, key.scope, key.projects)


async def listing(database_url: str, settings: Settings) -> list[AccessKey]:
    async with control_plane(database_url, settings) as plane:
        return sorted(plane.view.access_keys.values(), key=lambda k: k.created_at)


async def revoke(database_url: str, settings: Settings, key_id: str) -> AccessKey:
    async with control_plane(database_url, settings) as plane:
        return await plane.revoke_access_key(key_id)


async def ensure_admin(database_url: str, settings: Settings) -> NewKey | None:
    """A new admin key if the installation has no active one; None if it has."""
    async with control_plane(database_url, settings) as plane:
        if any(k.active and k.scope is Scope.ADMIN for k in plane.view.access_keys.values()):
            return None
    return await create(database_url, settings, Scope.ADMIN, description="created by verdict up")


def write_credentials(path: Path, key: NewKey, region: str) -> None:
    """The key as an AWS shared-credentials file (profile "verdict"), readable by its
    owner only: `AWS_SHARED_CREDENTIALS_FILE=<path> AWS_PROFILE=verdict` is all boto3 needs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(
            "[verdict]\n"
            f"aws_access_key_id = {key.key_id}\n"
            f"aws_secret_access_key = {key.secret}\n"
            f"region = {region}\n"
        )
