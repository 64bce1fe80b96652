"""Tenants pages (support only, R-ROLE-2) and the support's tenant picker."""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import get_session

from .. import keys
from ..errors import NotFound, ValidationError
from ..i18n import gettext, language_choices
from ..services.tenancy import tenants as service
from ..services.validation import time_zones
from ..values import Role
from .auth import TENANT_FIELD, database, require_user
from .forms import form_data, int_param, safe_next
from .render import flash, render

routes = web.RouteTableDef()


async def _form(request, *, existing=None, form=None, errors=None, status=200):
    if form is None:
        form = dict(existing.__dict__) if existing else {
            "timezone": "Europe/Berlin", "language": request.config_dict[keys.SETTINGS].server.language}
    return await render(request, "tenants/form.html", {"existing": existing, "form": form, "errors": errors or {},
                                                       "time_zones": time_zones(),
                                                       "languages": language_choices()}, status=status)


@routes.get("/tenants", name="tenants")
async def tenants_list(request: web.Request) -> web.StreamResponse:
    user = await require_user(request, Role.SUPPORT)
    return await render(request, "tenants/list.html", {"rows": await service.list_tenants(database(request), user)})


@routes.get("/tenants/new", name="tenant_new")
async def tenant_new(request: web.Request) -> web.StreamResponse:
    await require_user(request, Role.SUPPORT)
    return await _form(request)


@routes.post("/tenants/new")
async def tenant_create(request: web.Request) -> web.StreamResponse:
    user = await require_user(request, Role.SUPPORT)
    data = await form_data(request)
    try:
        await service.create_tenant(database(request), user, data,
                                    default_language=request.config_dict[keys.SETTINGS].server.language)
    except ValidationError as exc:
        return await _form(request, form=data, errors=exc.fields, status=400)
    flash(request, gettext("Tenant %(name)s created.", name=data.get("name", "").strip()), "success")
    raise web.HTTPFound("/admin/tenants")


@routes.get("/tenants/{tenant_id}/edit", name="tenant_edit")
async def tenant_edit(request: web.Request) -> web.StreamResponse:
    user = await require_user(request, Role.SUPPORT)
    return await _form(request, existing=await service.get_tenant(database(request), user, int_param(request, "tenant_id")))


@routes.post("/tenants/{tenant_id}/edit")
async def tenant_update(request: web.Request) -> web.StreamResponse:
    user = await require_user(request, Role.SUPPORT)
    existing = await service.get_tenant(database(request), user, int_param(request, "tenant_id"))
    data = await form_data(request)
    try:
        await service.update_tenant(database(request), user, existing.id, data)
    except ValidationError as exc:
        return await _form(request, existing=existing, form=data, errors=exc.fields, status=400)
    flash(request, gettext("Tenant saved."), "success")
    raise web.HTTPFound("/admin/tenants")


@routes.get("/tenants/{tenant_id}/delete", name="tenant_delete")
async def tenant_delete_confirm(request: web.Request) -> web.StreamResponse:
    user = await require_user(request, Role.SUPPORT)
    tenant = await service.get_tenant(database(request), user, int_param(request, "tenant_id"))
    return await render(request, "confirm.html", {
        "title": gettext("Delete tenant %(name)s?", name=tenant.name),
        "message": gettext("The tenant %(name)s will be deleted together with ALL its users, call groups, call flows, "
                           "branding, webhooks, calls and statistics. This cannot be undone.", name=tenant.name),
        "action": f"/admin/tenants/{tenant.id}/delete", "button": gettext("Delete tenant"), "danger": True,
        "cancel": "/admin/tenants"})


@routes.post("/tenants/{tenant_id}/delete")
async def tenant_delete(request: web.Request) -> web.StreamResponse:
    user = await require_user(request, Role.SUPPORT)
    tenant = await service.get_tenant(database(request), user, int_param(request, "tenant_id"))
    await service.delete_tenant(database(request), user, tenant.id)
    flash(request, gettext("Tenant %(name)s deleted.", name=tenant.name), "success")
    raise web.HTTPFound("/admin/tenants")


@routes.post("/scope", name="tenant_scope")
async def pick_tenant(request: web.Request) -> web.StreamResponse:
    """Support picks the tenant that tenant-scoped pages work on (empty = all)."""
    user = await require_user(request, Role.SUPPORT)
    data = await form_data(request)
    session = await get_session(request)
    raw = data.get("tenant", "").strip()
    if raw:
        if not raw.isdigit():
            raise NotFound(gettext("No such tenant."))
        tenant = await service.get_tenant(database(request), user, int(raw))
        session[TENANT_FIELD] = tenant.id
    else:
        session.pop(TENANT_FIELD, None)
    raise web.HTTPFound(safe_next(data.get("next")))


def register(admin: web.Application) -> None:
    admin.router.add_routes(routes)
