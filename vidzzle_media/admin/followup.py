"""The "Initiate Video-Call" form (R-FUP-1..3, R-DASH-3).

Rows of (email | SMS, contact name, email or mobile) with "+" and trash
(web/agent/followup.js); validated per row here (services/followup.py) and
in the browser. "Start Call" creates the room and the outgoing call and sends
the agent straight to the call view; the invitations go out through the
outbox.
"""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..errors import BadRequest, ValidationError
from ..i18n import gettext, language_choices
from ..services.accounts.links import base_url
from ..services.calls import followup as service
from ..services.tenancy import tenants as tenant_service
from .auth import require_user
from .forms import form_data
from .menu import MENU, MenuItem
from .render import render, request_base, wake_outbox

MENU.append(MenuItem("Initiate Video-Call", "/admin/followup", order=6))


def _rows(form: dict) -> list[dict]:
    indexes = sorted({int(k.split("_", 1)[1]) for k in form
                      if k.startswith(("via_", "name_", "address_")) and k.split("_", 1)[1].isdigit()})
    return [{"i": i, "via": form.get(f"via_{i}", "email"), "name": form.get(f"name_{i}", ""),
             "address": form.get(f"address_{i}", ""), "lang": form.get(f"lang_{i}", "")} for i in indexes] \
        or [{"i": 0, "via": "email", "name": "", "address": "", "lang": ""}]


async def _page(request, user, form=None, errors=None, status=200):
    """The form; each row's language defaults to the tenant's (the invitation, the link's page and the GDPR
    notice come in it)."""
    default = await tenant_service.language_of(request.config_dict[keys.DATABASE], user.tenant_id) \
        or request.config_dict[keys.SETTINGS].server.language
    return await render(request, "console/followup.html", {
        "rows": _rows(form or {}), "errors": errors or {}, "languages": language_choices(),
        "default_language": default}, status=status)


async def followup_form(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    return await _page(request, user)


async def followup_start(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    if user.tenant_id is None:
        raise BadRequest(gettext("Follow-up calls are made from a tenant's user account (switch into one first)."))
    form = await form_data(request)
    try:
        rows = service.parse_rows(form)
    except ValidationError as exc:
        return await _page(request, user, form, exc.fields, status=400)
    settings = request.config_dict[keys.SETTINGS]
    call = await service.start(request.config_dict[keys.DATABASE], request.config_dict[keys.ROOMS], user,
                               user.tenant_id, rows, base_url(settings, request_base(request)),
                               wake=lambda: wake_outbox(request))
    raise web.HTTPFound(call.agent_path)


def register(admin: web.Application) -> None:
    admin.router.add_get("/followup", followup_form)
    admin.router.add_post("/followup", followup_start)
