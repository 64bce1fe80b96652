"""Login throttling per account and per client address.

Checked BEFORE the password is hashed, so a flood of guesses costs the
server one COUNT query each, not an Argon2id computation.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

from ...config import SecuritySettings
from ...errors import TooManyRequests
from ...i18n import gettext
from ...store import tokens as store

log = logging.getLogger(__name__)


def account_key(email: str) -> str:
    return "account:" + email.strip().lower()


def address_key(address: str | None) -> str:
    return "address:" + (address or "unknown")


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds")


async def check(db, security: SecuritySettings, *, email: str, address: str | None, now: datetime) -> None:
    """Raise TooManyRequests when the account or the address used up its failures."""
    since = _iso(now - timedelta(seconds=security.login_window_s))
    for key in (account_key(email), address_key(address)):
        if await store.count_failures(db, key, since) >= security.login_max_failures:
            log.warning("login throttled for %s", key.split(":", 1)[0])
            minutes = max(1, security.login_window_s // 60)
            raise TooManyRequests(gettext("Too many failed login attempts. Please wait %(minutes)s minutes and try "
                                          "again.", minutes=minutes),
                                  retry_after=security.login_window_s)


async def record_failure(db, security: SecuritySettings, *, email: str, address: str | None, now: datetime) -> None:
    async with db.transaction() as conn:
        at = _iso(now)
        await store.add_failure(conn, account_key(email), at)
        await store.add_failure(conn, address_key(address), at)
        await store.prune_failures(conn, _iso(now - timedelta(seconds=security.login_window_s)))


async def record_success(db, *, email: str) -> None:
    """A successful login forgives the account's earlier failures (not the address's)."""
    async with db.transaction() as conn:
        await store.clear_failures(conn, account_key(email))
