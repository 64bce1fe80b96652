"""The dashboard (R-DASH): three tiles and the entry to start a call.

Call numbers come from ``services.calls.dashboard`` and are passed to the
template as ``stats`` (``dashboard_chart.html`` draws ``stats.bars``); support
without a tenant picked sees no numbers.
"""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..i18n import format_duration
from ..services.accounts.activity import WINDOW_S
from ..services.calls import callbacks
from ..services.calls.call_list import MISS_REASONS
from ..services.calls.dashboard import MISS_DAYS
from ..services.calls.dashboard import dashboard as call_numbers
from . import chart
from .auth import require_user, tenant_scope
from .render import render

routes = web.RouteTableDef()

#: where "Initiate Video-Call" leads: the follow-up call form (admin/followup.py)
FOLLOW_UP_PATH = "/admin/followup"


@routes.get("/", name="dashboard")
async def dashboard(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    tenant_id = await tenant_scope(request, user)
    db = request.config_dict[keys.DATABASE]
    stats = None if tenant_id is None else await call_numbers(db, tenant_id)
    open_callbacks = None if tenant_id is None else await callbacks.open_count(db, tenant_id)
    online = request.config_dict[keys.PRESENCE].online_user_ids(tenant_id)
    active = await request.config_dict[keys.ACTIVITY].logged_in_ids(tenant_id)
    return await render(request, "dashboard.html", {
        "logged_in": len(active | online),
        "online": len(online),
        "window_min": WINDOW_S // 60,
        "stats": stats,
        "avg_duration": format_duration(stats.avg_duration_s if stats else 0),
        "avg_outgoing": format_duration(stats.outgoing.avg_duration_s if stats else 0),
        "follow_up_path": FOLLOW_UP_PATH,
        "scope_tenant": tenant_id,
        "chart_of": chart.build,
        "miss_labels": MISS_REASONS, "miss_days": MISS_DAYS, "open_callbacks": open_callbacks,   # dashboard_chart.html: SVG geometry of stats.bars
    })


def register(admin: web.Application) -> None:
    admin.router.add_routes(routes)
