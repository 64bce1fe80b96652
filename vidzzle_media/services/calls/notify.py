"""Notifications of a ringing call to one agent: email and SMS with a one-time link.

The browser push (always) is done by services/calls.py through Presence;
this module queues the outbox deliveries inside the ringing transaction.
Both come in the agent's own language (their setting, else the tenant's).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from ...config import Settings
from ...store.calls import CallRow
from ...store.groups import MemberRow
from ..accounts import tokens
from ..branding.brand import notification_sms_text
from ..branding.presentations import documents
from ..outbox.mail import queue_mail
from ..outbox.sms import queue_sms

log = logging.getLogger(__name__)

CALL_LINK_PATH = "/admin/call-link/"
TOKEN_PURPOSE = "call"


async def presentation_documents(db, tenant_id: int) -> list:
    """The documents a new call room shows: the tenant's default presentation
    first, then the rest of its library (services/presentations.py)."""
    return await documents(db, tenant_id)


async def incoming_call_sms_text(conn, tenant_id: int, language: str = "") -> str:
    """The tenant's incoming-call SMS text (R-BRAND-3) in ``language``; the link is appended."""
    return await notification_sms_text(conn, tenant_id, language)


def call_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}{CALL_LINK_PATH}{token}"


async def notify_member(conn, settings: Settings, call: CallRow, member: MemberRow, *, now: datetime) -> bool:
    """Queue email and/or SMS for one rung agent per their settings; True if anything was queued."""
    if not (member.notify_email or (member.notify_sms and member.mobile)):
        return False
    token = await tokens.issue(conn, purpose=TOKEN_PURPOSE, user_id=member.id, tenant_id=call.tenant_id,
                               subject=call.id, ttl=timedelta(minutes=settings.security.call_link_minutes), now=now)
    link = call_link(call.base_url, token)
    queued = False
    if member.notify_email and member.email:
        try:
            await queue_mail(conn, template="call_notification", tenant_id=call.tenant_id, to_email=member.email,
                             to_name=member.name, link=link, now=now, language=member.language)
            queued = True
        except ValueError as exc:
            log.warning("call %s: no notification mail for user %d: %s", call.id, member.id, exc)
    if member.notify_sms and member.mobile:
        text = f"{await incoming_call_sms_text(conn, call.tenant_id, member.language)} {link}"
        try:
            await queue_sms(conn, tenant_id=call.tenant_id, to=member.mobile, text=text, now=now)
            queued = True
        except ValueError as exc:
            log.warning("call %s: no notification SMS for user %d: %s", call.id, member.id, exc)
    return queued
