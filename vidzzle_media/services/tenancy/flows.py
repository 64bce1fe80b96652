"""Call flows (R-FLOW): the three wizard steps' validation, embed ids, snippet.

Each wizard step is validated on its own (``step1``/``step2``/``step3``),
and ``save`` validates all three again, so a tampered hidden field cannot
sneak past the rules.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date
from html import escape
from typing import Mapping
from urllib.parse import urlsplit

from ...errors import NotFound, ValidationError
from ...i18n import gettext
from ...routing.closures import (
    MAX_EXCEPTIONS,
    DayException,
    FlowCalendar,
    check_region,
    exceptions_from_json,
    exceptions_text,
    exceptions_to_json,
    parse_exceptions,
)
from ...routing.hours import RULE as HOURS_RULE
from ...routing.hours import WEEKDAYS, DayHours, WeekHours, parse_hhmm
from ...routing.plan import MAX_TOTAL_RING_SECONDS
from ...store import Database
from ...store import flows as store
from ...store import groups as group_store
from ...store.flows import FlowRow

MAX_ROWS = 20


@dataclass
class FlowDraft:
    """Everything the wizard collects; the shape saved for a flow."""

    name: str = ""
    description: str = ""
    hours: list[list[str]] = field(default_factory=lambda: [["08:00", "17:00"]] * 5 + [["00:00", "00:00"]] * 2)
    """Seven [start, end] pairs, Monday first; start == end is a closed day."""
    rows: list[tuple[int, int]] = field(default_factory=list)
    """(group id, ring seconds) in ringing order."""
    exit_url: str = ""
    out_of_hours_url: str = ""
    escalation_url: str = ""
    ring_busy_agents: bool = False
    """Ring agents already in a call too (step 2; default: skip them)."""
    holiday_region: str = ""
    """Public holidays of this region close the flow (step 1; "DE-BY", "" for none)."""
    exceptions: list[DayException] = field(default_factory=list)
    """One-off closed or special-hours days (step 1)."""
    offer_callback: bool = False
    """Offer "We'll call you back" before the escalation or out-of-hours redirect (step 3)."""

    @classmethod
    def from_flow(cls, flow: FlowRow) -> "FlowDraft":
        return cls(flow.name, flow.description, flow.hours, list(flow.rows), flow.exit_url, flow.out_of_hours_url,
                   flow.escalation_url, flow.ring_busy_agents, flow.holiday_region,
                   list(exceptions_from_json(flow.exceptions)), flow.offer_callback)


def step1(data: Mapping, draft: FlowDraft) -> FlowDraft:
    """Name, description, per-weekday start/end, holiday region and dated exceptions."""
    errors: dict[str, str] = {}
    draft.name = str(data.get("name", "")).strip()
    draft.description = str(data.get("description", "")).strip()
    if not draft.name:
        errors["name"] = gettext("The call flow needs a name.")
    elif len(draft.name) > 100:
        errors["name"] = gettext("At most 100 characters.")
    if len(draft.description) > 1000:
        errors["description"] = gettext("At most 1000 characters.")
    hours = []
    for day in WEEKDAYS:
        start, end = str(data.get(f"{day}_start", "")).strip(), str(data.get(f"{day}_end", "")).strip()
        hours.append([start, end])
        try:
            DayHours(parse_hhmm(start), parse_hhmm(end, end=True))
        except ValueError:
            errors[day] = gettext("Enter start and end as HH:MM (the end may be 24:00).") + " " + gettext(HOURS_RULE)
    draft.hours = hours
    try:
        draft.holiday_region = check_region(str(data.get("holiday_region", "")))
    except ValueError:
        draft.holiday_region = str(data.get("holiday_region", "")).strip()[:20]
        errors["holiday_region"] = gettext("Unknown region: use a country code or country-subdivision, e.g. DE or DE-BY.")
    exceptions, bad = parse_exceptions(str(data.get("exceptions", ""))[:20000])
    draft.exceptions = exceptions
    if bad:
        errors["exceptions"] = gettext(
            "Line %(lines)s: write one day per line as YYYY-MM-DD closed, or YYYY-MM-DD HH:MM-HH:MM for special "
            "hours (each day once).", lines=", ".join(str(n) for n in bad))
    elif len(exceptions) > MAX_EXCEPTIONS:
        errors["exceptions"] = gettext("At most %(count)s days.", count=MAX_EXCEPTIONS)
    if errors:
        raise ValidationError(fields=errors)
    return draft


def _row_inputs(data: Mapping) -> list[tuple[str, str]]:
    rows = []
    for i in range(MAX_ROWS + 1):
        group, secs = data.get(f"group_{i}"), data.get(f"ring_{i}")
        if group is None and secs is None:
            continue
        group, secs = str(group or "").strip(), str(secs or "").strip()
        if group or secs:
            rows.append((group, secs))
    return rows


async def step2(db: Database, tenant_id: int, data: Mapping, draft: FlowDraft) -> FlowDraft:
    """Ordered rows of (call group, ring seconds); at least one; sum <= 240 s;
    whether busy agents ring too."""
    errors: dict[str, str] = {}
    draft.ring_busy_agents = str(data.get("ring_busy_agents", "")) in ("1", "on")
    inputs = _row_inputs(data)
    valid_groups = {g.id for g in await group_store.list_groups(db, tenant_id)}
    rows: list[tuple[int, int]] = []
    for i, (group, secs) in enumerate(inputs):
        try:
            gid = int(group)
            if gid not in valid_groups:
                raise ValueError
        except ValueError:
            errors[f"group_{i}"] = gettext("Pick a call group.")
            gid = 0
        try:
            seconds = int(secs)
            if not 1 <= seconds <= MAX_TOTAL_RING_SECONDS:
                raise ValueError
        except ValueError:
            errors[f"ring_{i}"] = gettext("Ring time: whole seconds from 1 to %(max)s.", max=MAX_TOTAL_RING_SECONDS)
            seconds = 0
        rows.append((gid, seconds))
    draft.rows = rows
    if not valid_groups:
        errors["rows"] = gettext("Create a call group first: a call flow needs at least one.")
    elif not rows:
        errors["rows"] = gettext("Add at least one row (call group and ring time).")
    elif len(rows) > MAX_ROWS:
        errors["rows"] = gettext("At most %(count)s rows.", count=MAX_ROWS)
    total = sum(s for _, s in rows)
    if total > MAX_TOTAL_RING_SECONDS:
        errors["rows"] = gettext("The ring times add up to %(total)s s; at most %(max)s s are allowed.",
                                  total=total, max=MAX_TOTAL_RING_SECONDS)
    if errors:
        raise ValidationError(fields=errors)
    return draft


def check_url(value: str) -> str | None:
    """Problem with an http(s) URL, or None."""
    if not value:
        return gettext("Required.")
    if len(value) > 2000:
        return gettext("At most %(count)s characters.", count=2000)
    try:
        parts = urlsplit(value)
    except ValueError:
        return gettext("Not a valid URL.")
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in value):
        return gettext("Enter a full http:// or https:// URL.")
    return None


def step3(data: Mapping, draft: FlowDraft) -> FlowDraft:
    """Exit, out-of-hours and escalation URLs (http/https); whether to offer a callback."""
    errors = {}
    draft.offer_callback = str(data.get("offer_callback", "")) in ("1", "on")
    for name in ("exit_url", "out_of_hours_url", "escalation_url"):
        value = str(data.get(name, "")).strip()
        setattr(draft, name, value)
        problem = check_url(value)
        if problem:
            errors[name] = problem
    if errors:
        raise ValidationError(fields=errors)
    return draft


def draft_as_form(draft: FlowDraft) -> dict[str, str]:
    """The draft as the form fields of all three steps (hidden fields of the wizard)."""
    form = {"name": draft.name, "description": draft.description, "exit_url": draft.exit_url,
            "out_of_hours_url": draft.out_of_hours_url, "escalation_url": draft.escalation_url,
            "ring_busy_agents": "1" if draft.ring_busy_agents else "", "holiday_region": draft.holiday_region,
            "exceptions": exceptions_text(draft.exceptions), "offer_callback": "1" if draft.offer_callback else ""}
    for day, (start, end) in zip(WEEKDAYS, draft.hours, strict=True):
        form[f"{day}_start"], form[f"{day}_end"] = start, end
    for i, (gid, secs) in enumerate(draft.rows):
        form[f"group_{i}"], form[f"ring_{i}"] = str(gid or ""), str(secs or "")
    return form


async def validate(db: Database, tenant_id: int, data: Mapping) -> FlowDraft:
    """All three steps at once (collecting every field error)."""
    draft, errors = FlowDraft(), {}
    for check in (lambda: step1(data, draft), lambda: step3(data, draft)):
        try:
            check()
        except ValidationError as exc:
            errors.update(exc.fields)
    try:
        await step2(db, tenant_id, data, draft)
    except ValidationError as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationError(fields=errors)
    return draft


async def closed_preview(db: Database, tenant_id: int, data: Mapping, today: date, language: str = "",
                         count: int = 5) -> list[tuple[date, str]]:
    """The next ``count`` days the wizard's current region and exceptions
    close the flow (what step 1 shows under the fields); nothing while
    either field has an error."""
    try:
        region = check_region(str(data.get("holiday_region", "")))
    except ValueError:
        return []
    exceptions, bad = parse_exceptions(str(data.get("exceptions", ""))[:20000])
    if bad:
        return []
    hours = WeekHours.from_pairs([["00:00", "00:00"]] * 7)     # weekly closed days are not listed
    return FlowCalendar(hours, "UTC", region, tuple(exceptions)).closed_days(today, count, language)


def new_embed_id() -> str:
    """192 random bits, URL-safe: unguessable (R-FLOW-2, >= 128 bits)."""
    return secrets.token_urlsafe(24)


async def list_flows(db: Database, tenant_id: int) -> list[FlowRow]:
    return await store.list_flows(db, tenant_id)


async def get_flow(db: Database, tenant_id: int, flow_id: int) -> FlowRow:
    flow = await store.get_flow(db, tenant_id, flow_id)
    if flow is None:
        raise NotFound(gettext("No such call flow."))
    return flow


def _fields(draft: FlowDraft) -> dict:
    return dict(name=draft.name, description=draft.description, hours=draft.hours, rows=draft.rows,
                exit_url=draft.exit_url, out_of_hours_url=draft.out_of_hours_url, escalation_url=draft.escalation_url,
                ring_busy_agents=draft.ring_busy_agents, holiday_region=draft.holiday_region,
                exceptions=exceptions_to_json(draft.exceptions), offer_callback=draft.offer_callback)


async def create_flow(db: Database, tenant_id: int, data: Mapping) -> int:
    draft = await validate(db, tenant_id, data)
    async with db.transaction() as conn:
        return await store.create_flow(conn, tenant_id, embed_id=new_embed_id(), **_fields(draft))


async def update_flow(db: Database, tenant_id: int, flow_id: int, data: Mapping) -> None:
    await get_flow(db, tenant_id, flow_id)
    draft = await validate(db, tenant_id, data)
    async with db.transaction() as conn:
        if not await store.update_flow(conn, tenant_id, flow_id, **_fields(draft)):
            raise NotFound(gettext("No such call flow."))


async def delete_flow(db: Database, tenant_id: int, flow_id: int) -> FlowRow:
    flow = await get_flow(db, tenant_id, flow_id)
    async with db.transaction() as conn:
        if not await store.delete_flow(conn, tenant_id, flow_id):
            raise NotFound(gettext("No such call flow."))
    return flow


def embed_snippet(public_base: str, embed_id: str, *, gdpr: bool) -> str:
    """The ready-to-paste markup of R-EMBED-1 (ids and data names are fixed);
    ``gdpr``: the tenant shows its GDPR notice before incoming calls (R-EMBED-2)."""
    base = public_base.rstrip("/")
    consent = ' data-cwbbb-gdpr="1"' if gdpr else ""
    return (f'<script src="{escape(base)}/embed.js"></script>\n'
            f'<button id="btn-cwbbb-osr" data-cwbbb-igh="{escape(embed_id)}" data-cwbbb-name="Customer"{consent}>'
            "Video call</button>")
