"""Webhook delivery (R-HOOK-2/3): queue in the caller's transaction, POST later, signed.

``queue_webhook`` stores the exact JSON body text, extra headers and the
signing secret in the outbox; the worker POSTs it with a 10 s total timeout,
never follows redirects (a 3xx is a failure), treats 2xx as success and
retries everything else with backoff for more than 24 h (see outbox.POLICIES).
So a call never waits for a webhook target.

Signing follows Standard Webhooks (https://www.standardwebhooks.com):
``webhook-id`` is stable across retries of one item (``msg_<outbox id>``),
``webhook-timestamp`` is the attempt's Unix time, and ``webhook-signature``
is ``v1,<base64 HMAC-SHA256(key, f"{id}.{timestamp}.{body}")>`` where the key
is the base64-decoded part after ``whsec_`` (a secret without that prefix is
used as UTF-8 bytes).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

from ...store import Database
from ...store import outbox as outbox_store
from ...values import OutboxKind

log = logging.getLogger(__name__)

_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
#: headers the sender sets itself; extra headers cannot replace them
RESERVED = frozenset({"content-type", "content-length", "host", "webhook-id", "webhook-timestamp",
                      "webhook-signature", "transfer-encoding", "connection"})


def generate_secret() -> str:
    """A new signing secret in the Standard Webhooks form ``whsec_<base64 of 24 random bytes>``."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        return base64.b64decode(secret[len("whsec_"):])
    return secret.encode("utf-8")


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header value for one message."""
    mac = hmac.new(_key(secret), f"{msg_id}.{timestamp}.{body}".encode("utf-8"), hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def message_id(outbox_id: int) -> str:
    return f"msg_{outbox_id}"


def _check(url: str, headers: dict[str, str], secret: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("webhook URL must be http(s)://host/...")
    for name, value in headers.items():
        if not _HEADER_NAME.match(name) or "\n" in value or "\r" in value:
            raise ValueError(f"invalid webhook header {name!r}")
    if not secret:
        raise ValueError("webhook secret is empty")
    _key(secret)


async def queue_webhook(conn, *, tenant_id: int, url: str, headers: dict[str, str], body: dict, secret: str,
                        event: str, now: datetime | None = None) -> int:
    """Enqueue one signed POST of ``body`` on the caller's writer connection."""
    _check(url, headers, secret)
    payload = {
        "event": event,
        "headers": {k: v for k, v in headers.items() if k.lower() not in RESERVED},
        "body": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        "secret": secret,
    }
    item_id = await outbox_store.enqueue(conn, kind=OutboxKind.WEBHOOK, tenant_id=tenant_id, recipient=url,
                                         payload=payload, now=now or datetime.now(timezone.utc))
    log.debug("queued webhook %s as outbox %d", event, item_id)
    return item_id


@dataclass
class WebhookAttempt:
    """One delivery attempt, for the tenant's delivery log page."""

    id: int
    outbox_id: int
    event: str
    url: str
    at: str
    ok: bool
    status: str
    """HTTP status ('' when the target was not reached)"""
    error: str
    duration_ms: int
    delivery_state: str
    """queued (retrying), sent or failed"""


async def list_attempts(db: Database, tenant_id: int, limit: int = 200, *,
                        outbox_id: int | None = None) -> list[WebhookAttempt]:
    """Every attempt of the tenant's webhooks, newest first (no secrets, no header values)."""
    rows = await outbox_store.list_attempts(db, kind=OutboxKind.WEBHOOK, tenant_id=tenant_id, limit=limit,
                                            outbox_id=outbox_id)
    return [
        WebhookAttempt(id=r.id, outbox_id=r.outbox_id, event=r.payload.get("event", ""), url=r.recipient, at=r.at,
                       ok=r.ok, status=r.status, error=r.error, duration_ms=r.duration_ms,
                       delivery_state=r.item_state)
        for r in rows
    ]
