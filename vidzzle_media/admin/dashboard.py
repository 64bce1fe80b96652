"""The dashboard (R-DASH): three tiles and the entry to start a call.

Call numbers come from ``vidzzle_media.services.calls.dashboard_numbers(db,
tenant_id)`` when the routing area provides it (a mapping with
``calls_today`` and ``avg_duration_s``; anything more is passed to the
template as ``stats``, e.g. for ``dashboard_chart.html``); until then 0.
"""

from __future__ import annotations

import importlib
import logging

from aiohttp import web

from .. import keys
from .auth import require_user, tenant_scope
from .presence import PRESENCE
from .render import render

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

#: where "Initiate Video-Call" leads (the follow-up call form of the routing area)
FOLLOW_UP_PATH = "/admin/calls/new"


async def _call_numbers(db, tenant_id: int | None) -> dict:
    numbers = {"calls_today": 0, "avg_duration_s": 0}
    try:
        calls = importlib.import_module("vidzzle_media.services.calls")
    except ImportError:
        return numbers
    provider = getattr(calls, "dashboard_numbers", None)
    if provider is None:
        return numbers
    try:
        numbers.update(dict(await provider(db, tenant_id)))
    except Exception:
        log.exception("dashboard numbers failed")
    return numbers


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds or 0))
    return f"{seconds // 60}:{seconds % 60:02d} min"


@routes.get("/", name="dashboard")
async def dashboard(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    tenant_id = await tenant_scope(request, user)
    stats = await _call_numbers(request.config_dict[keys.DATABASE], tenant_id)
    presence = request.config_dict[PRESENCE]
    return await render(request, "dashboard.html", {
        "logged_in": presence.count(tenant_id),
        "stats": stats,
        "avg_duration": format_duration(stats.get("avg_duration_s", 0)),
        "follow_up_path": FOLLOW_UP_PATH,
        "scope_tenant": tenant_id,
    })


def register(admin: web.Application) -> None:
    admin.router.add_routes(routes)
