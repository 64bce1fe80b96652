"""The dashboard (R-DASH): three tiles and the entry to start a call.

Call numbers come from ``vidzzle_media.services.calls.dashboard.dashboard(db,
tenant_id)`` (routing area) and are passed to the template as ``stats``
(``dashboard_chart.html``, if present, can draw ``stats.bars``); 0 until
calls exist or when support has no tenant picked.
"""

from __future__ import annotations

import importlib
import logging

from aiohttp import web

from .. import keys
from ..services.calls.presence import PRESENCE
from . import chart
from .auth import require_user, tenant_scope
from .render import render

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

#: where "Initiate Video-Call" leads (the follow-up call form of the routing area)
FOLLOW_UP_PATH = "/admin/calls/new"


async def _call_numbers(db, tenant_id: int | None):
    """Call figures from the routing area's services.dashboard (a Dashboard
    dataclass: calls_today, avg_duration_s, bars, links...) or the older hook
    services.calls.dashboard_numbers; zeros until either exists."""
    zero = {"calls_today": 0, "avg_duration_s": 0}
    if tenant_id is None:
        return zero
    for module_name, function in (("vidzzle_media.services.calls.dashboard", "dashboard"),
                                  ("vidzzle_media.services.calls.service", "dashboard_numbers")):
        try:
            provider = getattr(importlib.import_module(module_name), function, None)
        except ImportError:
            continue
        if provider is None:
            continue
        try:
            return await provider(db, tenant_id)
        except Exception:
            log.exception("dashboard numbers failed")
            return zero
    return zero


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
        "logged_in": len(presence.online_user_ids(tenant_id)),
        "stats": stats,
        "avg_duration": format_duration(getattr(stats, "avg_duration_s", None) if not isinstance(stats, dict) else stats.get("avg_duration_s", 0)),
        "follow_up_path": FOLLOW_UP_PATH,
        "scope_tenant": tenant_id,
        "chart_of": chart.build,   # dashboard_chart.html: SVG geometry of stats.bars
    })


def register(admin: web.Application) -> None:
    admin.router.add_routes(routes)
