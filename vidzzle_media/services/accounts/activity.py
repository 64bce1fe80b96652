"""Who is logged in to the back office now (R-DASH-1 "Users logged in").

The session is an encrypted cookie, so the server cannot list sessions;
instead every authenticated back-office request stamps the user's
``last_seen_at`` (at most once a minute, so browsing costs no write per
request), and a user counts as logged in while that stamp is younger than
``WINDOW_S`` or a back-office page of theirs holds a presence socket.
Logging out clears the stamp. Being *online for calls* is the separate
presence figure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone

from ...store import accounts as account_store

WINDOW_S = 300
"""A user without a request for this long no longer counts as logged in."""
WRITE_EVERY_S = 60


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds")


class BackOfficeActivity:
    """Stamps and reads the back-office activity of users."""

    def __init__(self, db, clock: Callable[[], float] = time.time):
        self._db = db
        self._clock = clock
        self._written: dict[int, float] = {}

    async def seen(self, user_id: int) -> None:
        now = self._clock()
        if now - self._written.get(user_id, float("-inf")) < WRITE_EVERY_S:
            return
        self._written[user_id] = now
        async with self._db.transaction() as conn:
            await account_store.set_last_seen(conn, user_id, _iso(now))

    async def logged_out(self, user_id: int) -> None:
        self._written.pop(user_id, None)
        async with self._db.transaction() as conn:
            await account_store.set_last_seen(conn, user_id, None)

    async def logged_in_ids(self, tenant_id: int | None) -> set[int]:
        """Users (of the tenant; None: of every tenant) active within WINDOW_S."""
        since = _iso(self._clock() - WINDOW_S)
        if tenant_id is None:
            return await account_store.seen_since(self._db, since)
        return await account_store.seen_since(self._db, since, tenant_id=tenant_id)
