"""Webhook pages (R-HOOK): start/end URLs with additional headers, the
signing secret (shown once, regenerable) and the delivery log."""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..errors import ValidationError
from ..i18n import gettext
from ..services.outbox.webhooks import list_attempts
from ..services.tenancy import webhook_settings as service
from ..transports.outbound import OutboundPolicy
from .auth import MANAGERS, database, require_manager_scope
from .forms import form_data
from .menu import MENU, MenuItem
from .render import flash, render

routes = web.RouteTableDef()


async def _page(request, tenant_id, *, form=None, errors=None, new_secret=None, status=200):
    current = await service.get_settings(database(request), tenant_id)
    if form is None:
        form = {"start_url": current.start_url, "start_headers": current.start_headers,
                "end_url": current.end_url, "end_headers": current.end_headers,
                "callback_url": current.callback_url, "callback_headers": current.callback_headers}
    return await render(request, "routing/webhooks.html", {
        "form": form, "errors": errors or {}, "current": current, "new_secret": new_secret}, status=status)


@routes.get("/webhooks", name="webhooks")
async def webhooks_page(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    return await _page(request, tenant_id)


@routes.post("/webhooks")
async def webhooks_save(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    data = await form_data(request)
    try:
        policy = OutboundPolicy.from_cidrs(request.config_dict[keys.SETTINGS].outbound.allow)
        secret = await service.save_settings(database(request), tenant_id, data, policy=policy)
    except ValidationError as exc:
        return await _page(request, tenant_id, form=data, errors=exc.fields, status=400)
    if secret:   # shown on this one response only, never again
        return await _page(request, tenant_id, new_secret=secret)
    flash(request, gettext("Webhook settings saved."), "success")
    raise web.HTTPFound("/admin/webhooks")


@routes.post("/webhooks/secret")
async def webhooks_secret(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    secret = await service.regenerate_secret(database(request), tenant_id)
    return await _page(request, tenant_id, new_secret=secret)


@routes.get("/webhooks/log", name="webhook_log")
async def webhooks_log(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    attempts = await list_attempts(database(request), tenant_id)
    return await render(request, "routing/webhook_log.html", {"attempts": attempts})


def register(admin: web.Application) -> None:
    admin.router.add_routes(routes)


MENU.append(MenuItem("Webhooks", "/admin/webhooks", MANAGERS, order=40))
