"""The calls list (R-DASH, R-CALL-7): every call of the tenant with state,
flow, agent, times, duration and the missed-call reason; filters by state,
direction, flow, agent and date (or the hour the dashboard chart links to)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from aiohttp import web

from .. import keys
from ..i18n import format_duration, format_moment, gettext, ngettext
from ..services.calls import call_list
from ..services.calls.dashboard import tz_of
from .auth import require_user, tenant_scope
from .menu import MENU, MenuItem
from .render import render

routes = web.RouteTableDef()


def _local(value: str | None, tz) -> str:
    """A stored UTC time in the list's zone, as the viewer's locale writes it (seconds included)."""
    if not value:
        return ""
    try:
        return format_moment(datetime.fromisoformat(value).astimezone(tz))
    except ValueError:
        return value


def _label(labels: Mapping[str, str], value: str) -> str:
    """The translated label of a stored value (the value itself if it has none)."""
    return gettext(labels[value]) if value in labels else value


def _reason(row) -> str:
    """Why the call was not accepted (a cancelled one says after how long, a failed check what
    failed), and whether its media was interrupted on the way."""
    label = _label(call_list.MISS_REASONS, row.miss_reason)
    if row.media_problem:
        label = f"{label} ({_label(call_list.MEDIA_PROBLEMS, row.media_problem)})"
    waited = call_list.waited_s(row)
    if waited is not None:
        label = gettext("%(reason)s after %(duration)s", reason=label, duration=format_duration(waited))
    if row.interruptions:
        moved = ngettext("Interrupted once (a media process failed), then went on",
                         "Interrupted %(num)s times (a media process failed), then went on", row.interruptions)
        label = f"{label}; {moved}" if label else moved
    return label


@routes.get("/calls", name="calls")
async def calls_page(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    tenant_id = await tenant_scope(request, user)   # support without a tenant picked: every tenant
    db = request.config_dict[keys.DATABASE]
    page = await call_list.call_page(db, tenant_id, request.query)
    flows, agents = await call_list.choices(db, tenant_id)
    tz_name = await call_list.timezone_name(db, tenant_id)
    tz = tz_of(tz_name)
    rows = [{
        "row": r, "created": _local(r.created_at, tz), "accepted": _local(r.accepted_at, tz),
        "ended": _local(r.ended_at, tz), "duration": format_duration(r.duration_s, unit=False),
        "state": _label(call_list.STATE_LABELS, r.state), "direction": _label(call_list.DIRECTION_LABELS, r.direction),
        "reason": _reason(r),
    } for r in page.rows]
    return await render(request, "calls/list.html", {
        "rows": rows, "page": page, "filters": page.filters, "flows": flows, "agents": agents,
        "states": [(k, gettext(call_list.STATE_LABELS[k])) for k in call_list.STATES], "timezone": tz_name,
        "directions": [(k, gettext(label)) for k, label in call_list.DIRECTION_LABELS.items()],
        "reasons": [(k, gettext(label)) for k, label in call_list.MISS_REASONS.items()],
        "all_tenants": tenant_id is None, "scope_tenant": tenant_id,
    })


def register(admin: web.Application) -> None:
    admin.router.add_routes(routes)


MENU.append(MenuItem("Calls", "/admin/calls", order=5))
