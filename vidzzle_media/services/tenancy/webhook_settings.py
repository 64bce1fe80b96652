"""Webhook settings of a tenant (R-HOOK-1) and the call webhooks themselves (R-HOOK-2).

The body is exactly ``{"callid", "start", "end", "callflow", "userid",
"username"}``; signing (Standard Webhooks) and delivery with retries are the
outbox's job (services/webhook_delivery.py), so a slow target never delays a
call: the webhook is only a row queued in the call's own transaction.
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
from typing import Mapping

from ...errors import ValidationError
from ...i18n import gettext
from ...store import Database
from ...store import webhook_settings as store
from ...store.calls import CallRow
from ...store.webhook_settings import WebhookSettingsRow
from ...transports.outbound import Lookup, OutboundPolicy, system_lookup, url_problem
from ..outbox.webhooks import queue_webhook
from .flows import check_url

log = logging.getLogger(__name__)

_HEADER_LINE = re.compile(r"^([!#$%&'*+.^_`|~0-9A-Za-z-]+): (\S(?:[^\r\n]*\S)?)$")
RESERVED_HEADERS = {"host", "content-length", "content-type", "transfer-encoding", "connection",
                    "webhook-id", "webhook-timestamp", "webhook-signature"}
MAX_HEADERS = 20


def parse_headers(text: str) -> dict[str, str]:
    """One ``Name: value`` per line (blank lines ignored); ValueError names the bad line."""
    headers: dict[str, str] = {}
    for number, line in enumerate((text or "").splitlines(), start=1):
        if not line.strip():
            continue
        match = _HEADER_LINE.match(line.rstrip())
        if not match:
            raise ValueError(gettext("Line %(number)s: write one header per line as 'Name: value'.", number=number))
        name, value = match.groups()
        if name.lower() in RESERVED_HEADERS:
            raise ValueError(gettext("Line %(number)s: the header %(name)s is set by the server.", number=number, name=name))
        headers[name] = value
    if len(headers) > MAX_HEADERS:
        raise ValueError(gettext("At most %(count)s headers.", count=MAX_HEADERS))
    return headers


async def get_settings(db: Database, tenant_id: int) -> WebhookSettingsRow:
    return await store.get(db, tenant_id)


async def save_settings(db: Database, tenant_id: int, data: Mapping, *, policy: OutboundPolicy,
                        lookup: Lookup = system_lookup) -> str | None:
    """Validate and store the URLs and header texts. Returns a freshly created
    signing secret when the tenant had none (to be shown once), else None.
    A URL the server may not send to (``policy``, on the addresses its host
    name resolves to now) is refused; delivery checks again at every connection."""
    values, errors = {}, {}
    for kind in ("start", "end", "callback"):
        url = str(data.get(f"{kind}_url", "")).strip()
        headers = str(data.get(f"{kind}_headers", "")).replace("\r\n", "\n").strip()
        problem = (check_url(url) or await url_problem(url, policy, lookup)) if url else None
        if problem:
            errors[f"{kind}_url"] = problem
        try:
            parse_headers(headers)
        except ValueError as exc:
            errors[f"{kind}_headers"] = str(exc)
        values[f"{kind}_url"], values[f"{kind}_headers"] = url, headers
    if errors:
        raise ValidationError(fields=errors)
    async with db.transaction() as conn:
        await store.save_urls(conn, tenant_id, **values)
        current = await store.get_in(conn, tenant_id)
        if current.secret or not (values["start_url"] or values["end_url"] or values["callback_url"]):
            return None
        secret = new_secret()
        await store.save_secret(conn, tenant_id, secret)
        return secret


def new_secret() -> str:
    """Standard Webhooks style: ``whsec_`` + base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


async def regenerate_secret(db: Database, tenant_id: int) -> str:
    """A new signing secret (the old one stops working at once); shown once."""
    secret = new_secret()
    async with db.transaction() as conn:
        await store.save_secret(conn, tenant_id, secret)
    return secret


def payload(call: CallRow) -> dict:
    """The JSON of R-HOOK-2 plus ``reason``. A call nobody accepted (missed,
    abandoned) has no start, user id 0, an empty user name and its
    ``values.MissReason`` as the reason ("" for a call an agent took)."""
    return {
        "callid": call.id,
        "start": call.accepted_at or "",
        "end": call.ended_at or "",
        "callflow": call.flow_id,
        "userid": call.agent_id or 0,
        "username": call.agent_email or "",
        "reason": call.miss_reason,
    }


async def queue_event_webhook(conn, tenant_id: int, kind: str, event: str, body: dict, *, now=None) -> int | None:
    """Queue ``body`` to the tenant's ``kind`` URL (start, end, callback) as ``event``, in the caller's transaction."""
    settings = await store.get_in(conn, tenant_id)
    url = getattr(settings, f"{kind}_url")
    if not url:
        return None
    try:
        headers = parse_headers(getattr(settings, f"{kind}_headers"))
    except ValueError:   # validated on save; never let an old bad row break a call
        headers = {}
    try:
        return await queue_webhook(conn, tenant_id=tenant_id, url=url, headers=headers, body=body,
                                   secret=settings.secret, event=event, now=now)
    except ValueError as exc:   # a bad setting must never undo the change that caused the webhook
        log.warning("tenant %d: %s webhook not queued: %s", tenant_id, event, exc)
        return None


async def queue_call_webhook(conn, call: CallRow, kind: str, *, now=None) -> int | None:
    """Queue the start or end webhook of an incoming call in the caller's transaction."""
    assert kind in ("start", "end")
    if call.direction != "incoming":
        return None
    return await queue_event_webhook(conn, call.tenant_id, kind, f"call.{kind}", payload(call), now=now)
