"""Follow-up (outgoing) video calls, R-FUP-1..3.

The agent fills rows (email | SMS, contact name, address); ``start`` creates
the room and an *outgoing* call record that is already accepted by the agent
(the agent goes straight in), and queues one call-invitation email or SMS
per row with a one-time join link, all in one transaction. The invitee
opens /join/<token>: ``invite_info`` tells the page the contact name and the
GDPR notice to show first (when the tenant enabled it for outgoing calls),
``join`` uses the token once and returns a room token for the ``invitee``
role with the contact name as display name.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Mapping

from ... import events
from ...errors import Gone, NotFound, ValidationError
from ...i18n import N_, gettext, languages
from ...store import Database
from ...store import calls as call_store
from ...store.calls import CallRow
from ...values import CallState, Direction, RoomRole
from .. import validation
from ..accounts import tokens
from ..branding import brand
from ..outbox.mail import queue_mail
from ..outbox.sms import queue_sms
from .agent_messages import AGENT_CALL_PATH
from .notify import presentation_documents

log = logging.getLogger(__name__)

TOKEN_PURPOSE = "call_invitation"
INVITE_TTL = timedelta(hours=24)
JOIN_PATH = "/join/"
MAX_ROWS = 10
@dataclass(frozen=True)
class Invitee:
    """One row of the "Initiate Video-Call" form."""

    via: str
    """``email`` or ``sms``."""
    name: str
    """Contact name, also the display name in the call."""
    address: str
    """Email address or mobile number."""
    language: str = ""
    """The language the invitation (and the GDPR notice) comes in; "" = the tenant's."""


@dataclass(frozen=True)
class FollowUpCall:
    """What the agent gets after "Start Call"."""

    call_id: str
    room_id: str
    agent_path: str
    invitations: int


gdpr_notice = brand.gdpr_notice


def parse_rows(data: Mapping[str, Any]) -> list[Invitee]:
    """Rows ``via_N``/``name_N``/``address_N`` (N = 0, 1, ... with gaps from
    removed rows); errors per field as ``ValidationError(fields=...)``."""
    indexes = sorted({int(k.split("_", 1)[1]) for k in data
                      if k.startswith(("via_", "name_", "address_")) and k.split("_", 1)[1].isdigit()})
    errors: dict[str, str] = {}
    rows: list[Invitee] = []
    for i in indexes[:MAX_ROWS]:
        via = str(data.get(f"via_{i}", "email") or "email").strip().lower()
        name = validation.text(data, f"name_{i}", N_("Contact name"), errors, max_len=80)
        if via not in ("email", "sms"):
            errors[f"via_{i}"] = gettext("Choose email or SMS.")
            continue
        if via == "email":
            address = validation.email(data, f"address_{i}", errors)
        else:
            address = validation.mobile(data, f"address_{i}", errors)
        language = str(data.get(f"lang_{i}", "") or "")
        rows.append(Invitee(via, " ".join(name.split()), address, language if language in languages() else ""))
    if not indexes:
        errors["rows"] = gettext("Add at least one person to invite.")
    elif len(indexes) > MAX_ROWS:
        errors["rows"] = gettext("At most %(count)s invitations per call.", count=MAX_ROWS)
    if errors:
        raise ValidationError(gettext("Please correct the marked fields."), fields=errors)
    return rows


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def join_link(base_url: str, token: str, language: str = "") -> str:
    """The invitee's one-time link; ``?lang=`` makes the page speak the invitation's language."""
    return f"{base_url.rstrip('/')}{JOIN_PATH}{token}" + (f"?lang={language}" if language else "")


async def start(db: Database, rooms, agent, tenant_id: int, rows: list[Invitee], base_url: str, *,
                now: datetime | None = None, wake: Callable[[], None] | None = None) -> FollowUpCall:
    """Room + outgoing call (accepted by ``agent``) + one invitation per row."""
    if rooms is None:
        raise RuntimeError("no room directory")
    now = now or datetime.now(timezone.utc)
    at = _iso(now)
    row_languages = [await brand.recipient_language(db, tenant_id, r.language) for r in rows]
    sms_texts = {language: await brand.invitation_sms_text(db, tenant_id, language)
                 for row, language in zip(rows, row_languages, strict=True) if row.via == "sms"}
    room_id = await rooms.create_room(await presentation_documents(db, tenant_id))
    call = CallRow(id=str(uuid.uuid4()), tenant_id=tenant_id, flow_id=None, direction=Direction.OUTGOING, state=CallState.ACCEPTED,
                   miss_reason="", customer_name=", ".join(r.name for r in rows)[:200], customer_key_hash="",
                   room_id=room_id, agent_id=agent.id, agent_name=agent.name, agent_email=agent.email,
                   base_url=base_url, exit_url="", escalation_url="", created_at=at, accepted_at=at,
                   ended_at=None, duration_s=None)
    try:
        async with db.transaction() as conn:
            await call_store.insert_call(conn, call)
            await call_store.add_event(conn, events.CallCreated(call_id=call.id, tenant_id=tenant_id, at=at,
                                                                flow_id=None, direction=Direction.OUTGOING,
                                                                customer_name=call.customer_name))
            await call_store.add_event(conn, events.CallAccepted(call_id=call.id, tenant_id=tenant_id, at=at,
                                                                 user_id=agent.id, user_name=agent.name))
            for row, language in zip(rows, row_languages, strict=True):
                token = await tokens.issue(conn, purpose=TOKEN_PURPOSE, user_id=None, tenant_id=tenant_id,
                                           subject=json.dumps({"call": call.id, "name": row.name, "lang": language}),
                                           ttl=INVITE_TTL, now=now)
                link = join_link(base_url, token, language)
                if row.via == "email":
                    await queue_mail(conn, template="call_invitation", tenant_id=tenant_id, to_email=row.address,
                                     to_name=row.name, link=link, sender_name=agent.name, now=now,
                                     language=language)
                else:
                    await queue_sms(conn, tenant_id=tenant_id, to=row.address,
                                    text=f"{sms_texts[language]} {link}", now=now)
    except BaseException:
        await rooms.close_room(room_id, "start_failed")
        raise
    log.info("call %s: follow-up started by user %d with %d invitation(s)", call.id, agent.id, len(rows))
    if wake:
        wake()
    return FollowUpCall(call.id, room_id, f"{AGENT_CALL_PATH}{call.id}", len(rows))


@dataclass(frozen=True)
class _Invitation:
    """What an invitation's token stands for."""

    call: CallRow
    name: str
    language: str
    """"" for links issued before invitations had a language: the tenant's."""


async def _grant_call(db: Database, grant) -> _Invitation:
    try:
        subject = json.loads(grant.subject)
        call_id, name, language = str(subject["call"]), str(subject["name"]), str(subject.get("lang", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise NotFound(gettext("This link is unknown.")) from None
    call = await call_store.get_tenant_call(db, grant.tenant_id, call_id)
    if call is None:
        raise NotFound(gettext("This link is unknown."))
    if call.state != CallState.ACCEPTED:
        raise Gone(gettext("This video call is already over."))
    return _Invitation(call, name, language)


async def invite_info(db: Database, token: str, now: datetime | None = None) -> dict[str, Any]:
    """For the invitee page before joining: name and the GDPR text to accept first ("" = none)."""
    grant = await tokens.peek(db, token, TOKEN_PURPOSE, now=now)
    invitation = await _grant_call(db, grant)
    call = invitation.call
    notice = await gdpr_notice(db, call.tenant_id, invitation.language)
    return {"display_name": invitation.name, "agent_name": call.agent_name,
            "gdpr_text": notice.text if notice.outgoing else ""}


async def join(db: Database, rooms, token: str, now: datetime | None = None) -> dict[str, Any]:
    """Use the link once; a room token for the invitee (reusable for re-joins while the room lives)."""
    grant = await tokens.peek(db, token, TOKEN_PURPOSE, now=now)
    invitation = await _grant_call(db, grant)
    call, name = invitation.call, invitation.name
    if rooms is None:
        raise Gone(gettext("This video call is already over."))
    try:
        room_token = rooms.issue_token(call.room_id, RoomRole.INVITEE, name)
    except KeyError:
        raise Gone(gettext("This video call is already over.")) from None
    async with db.transaction() as conn:
        await tokens.consume(conn, token=token, purpose=TOKEN_PURPOSE, now=now)
    return {"call_id": call.id, "room_token": room_token, "display_name": name, "agent_name": call.agent_name}
