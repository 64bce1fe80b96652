"""Callback requests (issue 15): the open ones for the tenant's agents to
claim, call back with one click (a follow-up video call) or mark done; the
done ones for the record."""

from __future__ import annotations

from datetime import datetime, timezone

from aiohttp import web

from .. import keys
from ..errors import BadRequest, NotFound
from ..i18n import gettext
from ..services.accounts.links import base_url
from ..services.calls import callbacks as service
from .auth import require_user, tenant_scope
from .forms import int_param
from .menu import MENU, MenuItem
from .render import flash, render, request_base, wake_outbox

routes = web.RouteTableDef()


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def _tenant(request: web.Request):
    user = await require_user(request)
    tenant_id = await tenant_scope(request, user)
    return user, tenant_id


@routes.get("/callbacks", name="callbacks")
async def callback_list(request: web.Request) -> web.StreamResponse:
    user, tenant_id = await _tenant(request)
    state = "done" if request.query.get("state") == "done" else "open"
    rows = [] if tenant_id is None else await service.listing(request.config_dict[keys.DATABASE], tenant_id, state)
    return await render(request, "callbacks/list.html", {"rows": rows, "state": state, "scope_tenant": tenant_id,
                                                         "me": user.id})


async def _act(request: web.Request, action: str) -> web.StreamResponse:
    user, tenant_id = await _tenant(request)
    db = request.config_dict[keys.DATABASE]
    callback_id = int_param(request, "callback_id")
    if tenant_id is None:       # support without a tenant picked: no callback is theirs to see
        raise NotFound(gettext("No such callback request."))
    await service.get(db, tenant_id, callback_id)
    at = _now().isoformat(timespec="milliseconds")
    if action == "claim":
        row = await service.claim(db, tenant_id, callback_id, user, at)
        flash(request, gettext("You have taken the callback for %(name)s.", name=row.name), "success")
    elif action == "done":
        row = await service.done(db, tenant_id, callback_id, at)
        flash(request, gettext("The callback for %(name)s is done.", name=row.name), "success")
    else:
        if user.tenant_id is None:
            raise BadRequest(gettext("Follow-up calls are made from a tenant's user account (switch into one first)."))
        settings = request.config_dict[keys.SETTINGS]
        call = await service.start_call(db, request.config_dict[keys.ROOMS], user, tenant_id, callback_id,
                                        base_url(settings, request_base(request)), now=_now(),
                                        wake=lambda: wake_outbox(request))
        raise web.HTTPFound(call.agent_path)
    raise web.HTTPFound("/admin/callbacks")


@routes.post("/callbacks/{callback_id}/claim")
async def callback_claim(request: web.Request) -> web.StreamResponse:
    return await _act(request, "claim")


@routes.post("/callbacks/{callback_id}/done")
async def callback_done(request: web.Request) -> web.StreamResponse:
    return await _act(request, "done")


@routes.post("/callbacks/{callback_id}/call")
async def callback_call(request: web.Request) -> web.StreamResponse:
    return await _act(request, "call")


def register(admin: web.Application) -> None:
    admin.router.add_routes(routes)


MENU.append(MenuItem("Callbacks", "/admin/callbacks", order=6))
