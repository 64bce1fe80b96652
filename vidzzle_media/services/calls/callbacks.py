"""Callback requests: "We'll call you back" instead of a lost lead (issue 15 item 4).

A customer nobody could take (out of hours, a closed day, escalated) on a
flow that offers callbacks leaves a name, a phone number or an email and a
preferred time. In one transaction: the request, a mail/SMS to every member
of the flow's groups who takes notifications (like a ringing call's), and
the ``callback.requested`` webhook (signed and retried like the call
webhooks). In the back office it is open until an agent claims it, starts
a follow-up call to the customer with one click (the invitation flow of
services/calls/followup.py) or marks it done.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Mapping

from ...errors import Conflict, NotFound, ValidationError
from ...i18n import N_, gettext, translations
from ...store import Database
from ...store import callbacks as store
from ...store.callbacks import CallbackRow
from ...store.calls import CallRow
from ...store.flows import FlowRow
from ...store.groups import MemberRow
from ...values import CallState
from ..branding.brand import recipient_language
from ..outbox.mail import queue_mail
from ..outbox.sms import normalize_phone, queue_sms
from ..tenancy.webhook_settings import queue_event_webhook
from . import followup

log = logging.getLogger(__name__)

CALLBACKS_PATH = "/admin/callbacks"
OFFERED_AFTER = (CallState.MISSED, CallState.OUT_OF_HOURS)
"""The calls a callback can follow: nobody could take them (the customer did not leave on their own)."""
_EMAIL = re.compile(r"^[^@\s<>\"',;:()\[\]\\]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
SMS_TEXT = N_("A customer asks to be called back:")


@dataclass(frozen=True)
class CallbackRequest:
    """What the customer's form sends, checked."""

    name: str
    phone: str
    email: str
    preferred: str


def parse_request(data: Mapping[str, Any]) -> CallbackRequest:
    """Name (required), phone or email (at least one), a preferred time (free text)."""
    errors: dict[str, str] = {}
    name = " ".join(str(data.get("name", "") or "").split())[:80]
    phone = " ".join(str(data.get("phone", "") or "").split())[:30]
    email = str(data.get("email", "") or "").strip()[:200]
    preferred = " ".join(str(data.get("preferred", "") or "").split())[:100]
    if not name:
        errors["name"] = gettext("Please tell us your name.")
    if phone:
        try:
            normalize_phone(phone)
        except ValueError:
            errors["phone"] = gettext("This does not look like a phone number.")
    if email and not _EMAIL.match(email):
        errors["email"] = gettext("This does not look like an email address.")
    if not phone and not email:
        errors["phone"] = gettext("Please give a phone number or an email address.")
    if errors:
        raise ValidationError(fields=errors)
    return CallbackRequest(name, phone, email, preferred)


def offered(call: CallRow, flow: FlowRow | None) -> bool:
    """Whether the customer of ``call`` may ask for a callback now."""
    return flow is not None and flow.offer_callback and call.state in OFFERED_AFTER


def payload(row: CallbackRow) -> dict[str, Any]:
    """The JSON of ``callback.requested`` (docs/api.md)."""
    return {"callbackid": row.id, "callid": row.call_id or "", "callflow": row.flow_id, "name": row.name,
            "phone": row.phone, "email": row.email, "preferred": row.preferred, "created": row.created_at}


async def record(conn, call: CallRow, flow: FlowRow, request: CallbackRequest, members: list[MemberRow], *,
                 at: str, now: datetime) -> bool:
    """Store the request with its notifications to ``members`` (of the
    flow's groups) and its webhook, in the caller's transaction; True when
    anything went to the outbox. Conflict if this call has one already."""
    if await store.for_call(conn, call.id) is not None:
        raise Conflict(gettext("You have asked for a callback already. We will be in touch."))
    callback_id = await store.insert(conn, tenant_id=call.tenant_id, flow_id=flow.id, call_id=call.id,
                                     name=request.name, phone=request.phone, email=request.email,
                                     preferred=request.preferred, at=at)
    row = await store.get(conn, call.tenant_id, callback_id)
    assert row is not None
    queued = await queue_event_webhook(conn, call.tenant_id, "callback", "callback.requested", payload(row),
                                       now=now) is not None
    link = f"{call.base_url.rstrip('/')}{CALLBACKS_PATH}"
    for member in members:
        language = await recipient_language(conn, call.tenant_id, member.language)
        try:
            if member.notify_email and member.email:
                await queue_mail(conn, template="callback_request", tenant_id=call.tenant_id, to_email=member.email,
                                 to_name=member.name, link=link, now=now, language=language)
                queued = True
            if member.notify_sms and member.mobile:
                text = f"{translations(language).gettext(SMS_TEXT)} {link}"
                await queue_sms(conn, tenant_id=call.tenant_id, to=member.mobile, text=text, now=now)
                queued = True
        except ValueError as exc:      # one bad address must not lose the lead
            log.warning("callback %d: no notification for user %d: %s", callback_id, member.id, exc)
    log.info("call %s: callback %d requested", call.id, callback_id)
    return queued


async def listing(db: Database, tenant_id: int, state: str) -> list[CallbackRow]:
    """``state`` "open" lists open and claimed ones (the work to do), "done" the finished ones."""
    return await store.list_for(db, tenant_id, ("done",) if state == "done" else ("open", "claimed"))


async def open_count(db: Database, tenant_id: int) -> int:
    return await store.count_open(db, tenant_id)


async def get(db: Database, tenant_id: int, callback_id: int) -> CallbackRow:
    row = await store.get(db, tenant_id, callback_id)
    if row is None:
        raise NotFound(gettext("No such callback request."))
    return row


async def claim(db: Database, tenant_id: int, callback_id: int, agent, at: str) -> CallbackRow:
    """The agent takes it on; Conflict when a colleague was faster."""
    await get(db, tenant_id, callback_id)
    async with db.transaction() as conn:
        won = await store.claim(conn, tenant_id, callback_id, agent.id, agent.name, at)
    row = await get(db, tenant_id, callback_id)
    if not won and row.claimed_by != agent.id:
        raise Conflict(gettext("%(name)s has taken this callback already.", name=row.claimed_by_name)
                       if row.state == "claimed" else gettext("This callback is done already."))
    return row


async def done(db: Database, tenant_id: int, callback_id: int, at: str) -> CallbackRow:
    await get(db, tenant_id, callback_id)
    async with db.transaction() as conn:
        await store.finish(conn, tenant_id, callback_id, at)
    return await get(db, tenant_id, callback_id)


async def start_call(db: Database, rooms, agent, tenant_id: int, callback_id: int, base_url: str, *,
                     now: datetime, wake: Callable[[], None] | None = None) -> followup.FollowUpCall:
    """One click: a follow-up video call inviting the customer by SMS (else
    email); the request is claimed by the agent and done with that call."""
    row = await get(db, tenant_id, callback_id)
    if row.state == "done":
        raise Conflict(gettext("This callback is done already."))
    via, address = ("sms", row.phone) if row.phone else ("email", row.email)
    call = await followup.start(db, rooms, agent, tenant_id, [followup.Invitee(via, row.name, address)], base_url,
                                now=now, wake=wake)
    at = now.isoformat(timespec="milliseconds")
    async with db.transaction() as conn:
        await store.claim(conn, tenant_id, callback_id, agent.id, agent.name, at)
        await store.finish(conn, tenant_id, callback_id, at, followup_call_id=call.call_id)
    return call
