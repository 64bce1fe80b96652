"""Who is logged in to the back office right now (dashboard tile, R-DASH-1).

Kept in memory: a user counts while they made a request in the last
``ACTIVE_SECONDS`` and have not logged out. A restart starts from zero,
which is what "right now" means after a restart anyway.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aiohttp import web

ACTIVE_SECONDS = 15 * 60


@dataclass
class Presence:
    """user id -> (tenant id, monotonic time of the last request)."""

    seen: dict[int, tuple[int | None, float]] = field(default_factory=dict)
    clock: object = time.monotonic

    def touch(self, user_id: int, tenant_id: int | None) -> None:
        self.seen[user_id] = (tenant_id, self.clock())

    def forget(self, user_id: int) -> None:
        self.seen.pop(user_id, None)

    def count(self, tenant_id: int | None) -> int:
        """Active users of a tenant (``None``: of the whole install)."""
        limit = self.clock() - ACTIVE_SECONDS
        return sum(1 for t, at in self.seen.values() if at >= limit and (tenant_id is None or t == tenant_id))


PRESENCE = web.AppKey("admin_presence", Presence)
