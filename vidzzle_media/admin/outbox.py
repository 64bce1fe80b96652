"""Support-only view of mails and SMS not yet delivered (R-OPS-2), with "send again"."""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..errors import NotFound
from ..i18n import gettext
from ..services.outbox import worker as outbox_service
from ..values import OutboxKind, OutboxState, Role
from .auth import require_user
from .forms import int_param
from .render import flash, render, wake_outbox

routes = web.RouteTableDef()


@routes.get("/outbox", name="outbox")
async def outbox_page(request: web.Request) -> web.StreamResponse:
    await require_user(request, Role.SUPPORT)
    db = request.config_dict[keys.DATABASE]
    items = []
    for kind in (OutboxKind.EMAIL, OutboxKind.SMS):
        for state in (OutboxState.QUEUED, OutboxState.FAILED):
            items += await outbox_service.list_items(db, kind=kind, state=state, limit=500)
    items.sort(key=lambda item: item.id, reverse=True)
    settings = request.config_dict[keys.SETTINGS]
    return await render(request, "outbox.html", {"items": items, "smtp_configured": bool(settings.smtp.host)})


@routes.post("/outbox/{item_id}/retry", name="outbox_retry")
async def outbox_retry(request: web.Request) -> web.StreamResponse:
    await require_user(request, Role.SUPPORT)
    if not await outbox_service.retry(request.config_dict[keys.DATABASE], int_param(request, "item_id")):
        raise NotFound(gettext("No such outbox entry."))
    wake_outbox(request)
    flash(request, gettext("The message will be sent again now."), "success")
    raise web.HTTPFound("/admin/outbox")


def register(admin: web.Application) -> None:
    admin.router.add_routes(routes)
