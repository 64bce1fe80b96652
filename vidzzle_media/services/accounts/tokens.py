"""One-time link tokens: 256 random bits, only the SHA-256 stored, single use, expiring."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from ...errors import Gone, NotFound
from ...i18n import gettext
from ...store import Connection
from ...store import tokens as store

PURPOSE_OPTIN = "optin"
PURPOSE_RESET = "reset"


@dataclass(frozen=True)
class TokenGrant:
    """What a valid token grants."""

    user_id: int | None
    tenant_id: int | None
    subject: str
    """What the link opens (e.g. a call id); empty for account links."""


def _now(now: datetime | None) -> datetime:
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(timezone.utc)


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


KEEP_EXPIRED = timedelta(days=30)
"""How long an expired one-time link is remembered."""


async def issue(conn: Connection, *, purpose: str, user_id: int | None, tenant_id: int | None,
                subject: str, ttl: timedelta, now: datetime | None = None) -> str:
    """Create a token inside the caller's transaction; returns the clear token (put it in the link only).
    Tokens expired for longer than KEEP_EXPIRED are purged on the way (until then an old
    link still says "expired" rather than "unknown")."""
    now = _now(now)
    await store.delete_expired(conn, _iso(now - KEEP_EXPIRED))
    token = secrets.token_urlsafe(32)
    await store.insert_token(conn, token_hash=token_hash(token), purpose=purpose, user_id=user_id,
                             tenant_id=tenant_id, subject=subject, expires_at=_iso(now + ttl), now=_iso(now))
    return token


def _check(record: store.TokenRecord | None, now: datetime) -> TokenGrant:
    if record is None:
        raise NotFound(gettext("This link is unknown. Please check that you copied the whole link."))
    if record.used_at is not None:
        raise Gone(gettext("This link has already been used. Each link works only once."))
    if record.expires_at <= _iso(now):
        raise Gone(gettext("This link has expired. Please ask for a new one."))
    return TokenGrant(record.user_id, record.tenant_id, record.subject)


def _plausible(token: str) -> bool:
    return 16 <= len(token) <= 128


async def peek(db, token: str, purpose: str, now: datetime | None = None) -> TokenGrant:
    """Validate a token without using it (to show the form behind a link)."""
    if not _plausible(token):
        raise NotFound(gettext("This link is unknown. Please check that you copied the whole link."))
    return _check(await store.get_token(db, token_hash(token), purpose), _now(now))


async def consume(conn: Connection, *, token: str, purpose: str, now: datetime | None = None) -> TokenGrant:
    """Validate and use a token inside the caller's transaction (single use)."""
    now = _now(now)
    if not _plausible(token):
        raise NotFound(gettext("This link is unknown. Please check that you copied the whole link."))
    digest = token_hash(token)
    grant = _check(await store.get_token(conn, digest, purpose), now)
    if not await store.mark_used(conn, digest, _iso(now)):
        raise Gone(gettext("This link has already been used. Each link works only once."))
    return grant
