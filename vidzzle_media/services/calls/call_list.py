"""The calls list of the back office (R-DASH, R-CALL-7): filters read from a
query string, validated, turned into a store query with a keyset cursor.

Filters: ``state`` (a call state, ``accepted_any`` or ``not_accepted``),
``reason`` (why it was not accepted, a ``values.MissReason``),
``direction``, ``flow``, ``agent`` (ids of the tenant), ``date`` (local day
in the tenant's time zone) or ``from``/``to`` (UTC ISO instants, what the
dashboard chart links to), ``duration=1`` (only calls with a duration),
``before`` (cursor of the next page).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Mapping
from urllib.parse import urlencode

from ...i18n import N_, gettext
from ...store import Database, stats
from ...store.stats import CallFilter, CallListRow
from ...values import CallState, Direction, MissReason
from .dashboard import day_bounds, iso, tz_of

STATE_LABELS: dict[str, str] = {
    CallState.RINGING: N_("Ringing"), CallState.ACCEPTED: N_("In progress"), CallState.ENDED: N_("Ended"),
    CallState.MISSED: N_("Missed"), CallState.ABANDONED: N_("Abandoned (customer left)"),
    CallState.OUT_OF_HOURS: N_("Out of hours"),
    "accepted_any": N_("Accepted (any)"), "not_accepted": N_("Not accepted (any)"),   # filters over several states
}
STATES = tuple(STATE_LABELS)
DIRECTION_LABELS: dict[str, str] = {Direction.INCOMING: N_("Incoming"), Direction.OUTGOING: N_("Outgoing")}
MISS_REASONS: dict[str, str] = {
    MissReason.OUT_OF_HOURS: N_("Out of hours"),
    MissReason.HOLIDAY: N_("Closed: holiday"),
    MissReason.NO_AGENT_AVAILABLE: N_("No agent available (nobody online or free)"),
    MissReason.RANG_UNANSWERED: N_("Nobody answered in time"),
    MissReason.ALL_DECLINED: N_("All agents declined"),
    MissReason.CUSTOMER_CANCELLED: N_("Customer cancelled"),
    MissReason.CUSTOMER_MEDIA_FAILED: N_("Customer's camera, microphone or network failed"),
    MissReason.INTERRUPTED: N_("Interrupted: the server stopped while ringing"),
}
"""Labels are msgids: the page translates them (``gettext``)."""
MEDIA_PROBLEMS: dict[str, str] = {
    "permission_denied": N_("access blocked"), "no_device": N_("no camera or microphone"),
    "device_busy": N_("device in use"), "network": N_("network blocks the call"),
    "timeout": N_("check not passed in time"), "other": N_("other problem"),
}
"""What failed in a customer's pre-ring check (CallAbandoned.media_problem), as the list says it."""
PAGE_SIZE = 50
FILTER_KEYS = ("state", "reason", "direction", "flow", "agent", "date", "from", "to", "duration")


@dataclass(frozen=True)
class CallPage:
    """One page of the list."""

    rows: list[CallListRow]
    next_query: str
    """Query string of the next page; empty on the last page."""
    filters: dict[str, str]
    """The accepted filter values (for the form)."""
    problems: dict[str, str]
    """Filter fields that were ignored, with the reason."""


def _instant(value: str) -> str | None:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return iso(at)


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 18 else None


async def call_page(db: Database, tenant_id: int | None, query: Mapping[str, str]) -> CallPage:
    """Apply the filters of ``query``; a bad value is ignored and reported, never an error page."""
    filters, problems = {}, {}
    f = CallFilter(tenant_id=tenant_id, limit=PAGE_SIZE + 1)
    get = lambda k: str(query.get(k, "") or "").strip()[:100]   # noqa: E731
    if state := get("state"):
        if state in STATES:
            f, filters["state"] = replace(f, state=state), state
        else:
            problems["state"] = gettext("Unknown state.")
    if reason := get("reason"):
        if reason in MISS_REASONS:
            f, filters["reason"] = replace(f, miss_reason=reason), reason
        else:
            problems["reason"] = gettext("Unknown reason.")
    if direction := get("direction"):
        if direction in DIRECTION_LABELS:
            f, filters["direction"] = replace(f, direction=direction), direction
        else:
            problems["direction"] = gettext("Unknown direction.")
    for key, attr in (("flow", "flow_id"), ("agent", "agent_id")):
        if raw := get(key):
            value = _int(raw)
            if value is None:
                problems[key] = gettext("Not an id.")
            else:
                f, filters[key] = (replace(f, flow_id=value) if attr == "flow_id" else replace(f, agent_id=value)), raw
    if raw := get("date"):
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            problems["date"] = gettext("Use the form YYYY-MM-DD.")
        else:
            start, end = day_bounds(day, tz_of(await stats.tenant_timezone(db, tenant_id)))
            f, filters["date"] = replace(f, start=iso(start), end=iso(end)), raw
    for key, attr in (("from", "start"), ("to", "end")):
        if raw := get(key):
            instant = _instant(raw)
            if instant is None:
                problems[key] = gettext("Not an ISO-8601 time.")
            elif not getattr(f, attr) or (instant > getattr(f, attr) if attr == "start" else instant < getattr(f, attr)):
                # narrows a date filter
                f, filters[key] = (replace(f, start=instant) if attr == "start" else replace(f, end=instant)), raw
    if get("duration") == "1":
        f, filters["duration"] = replace(f, with_duration=True), "1"
    if raw := get("before"):
        created, _, call_id = raw.partition("|")
        if _instant(created) and call_id:
            f = replace(f, before=(created, call_id))
    rows = await stats.list_calls(db, f)
    next_query = ""
    if len(rows) > PAGE_SIZE:
        rows = rows[:PAGE_SIZE]
        last = rows[-1]
        next_query = urlencode({**filters, "before": f"{last.created_at}|{last.id}"})
    return CallPage(rows=rows, next_query=next_query, filters=filters, problems=problems)


def waited_s(row: CallListRow) -> float | None:
    """Seconds a customer waited before leaving (``customer_cancelled``); None otherwise."""
    if row.miss_reason != MissReason.CUSTOMER_CANCELLED or not row.ended_at:
        return None
    try:
        return max(0.0, (datetime.fromisoformat(row.ended_at) - datetime.fromisoformat(row.created_at)).total_seconds())
    except ValueError:
        return None


async def timezone_name(db: Database, tenant_id: int | None) -> str:
    """The tenant's IANA zone (times in the list are shown in it); UTC for all tenants."""
    return await stats.tenant_timezone(db, tenant_id) or "UTC"


async def choices(db: Database, tenant_id: int | None):
    """(flows, agents) for the filter menus."""
    return await stats.filter_choices(db, tenant_id)
