"""Support-only view of mails and SMS not yet delivered (R-OPS-2)."""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..services import outbox_view
from .auth import require_user
from .render import render

routes = web.RouteTableDef()


@routes.get("/outbox", name="outbox")
async def outbox_page(request: web.Request) -> web.StreamResponse:
    await require_user(request, "support")
    settings = request.config_dict[keys.SETTINGS]
    items = await outbox_view.undelivered(request.config_dict[keys.DATABASE])
    return await render(request, "outbox.html", {"items": items, "smtp_configured": bool(settings.smtp.host)})


def register(admin: web.Application) -> None:
    admin.router.add_routes(routes)
