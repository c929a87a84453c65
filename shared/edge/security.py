"""Turning signature checking on for one edge, from the settings: the one switch."""

from __future__ import annotations

import logging

from shared.config import Settings
from shared.credentials import MasterKey
from shared.domain.access import AccessKey
from shared.edge.app import Edge
from shared.edge.auth import Authenticator
from shared.edge.ratelimit import LIST_VARIABLE, RateLimiter, RateLimits
from shared.edge.routing import keep_dot_labels

log = logging.getLogger(__name__)


def secure(edge: Edge, settings: Settings) -> Edge:
    """Check every request to ``edge`` against the access keys of its view
    (``edge.state.view``, set by its lifespan), unless the settings turn checking off."""
    if not settings.auth:
        edge.state.auth = "off"
        log.warning(
            "AUTHENTICATION IS OFF (VERDICT_AUTH=off): every request is accepted unsigned."
            " Never run this way where anyone else can reach the service."
        )
        return edge
    master = MasterKey.of(settings)

    def key(key_id: str) -> AccessKey | None:
        view = getattr(edge.state, "view", None)
        return None if view is None else view.access_keys.get(key_id)

    edge.auth = Authenticator(key, master, settings.region, reencode_path=keep_dot_labels)
    limits = RateLimits.from_env({LIST_VARIABLE: settings.rate_limits or ""})
    edge.limiter = RateLimiter(limits) if limits.enabled else None
    edge.state.auth = "on"
    return edge
