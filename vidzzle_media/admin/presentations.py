"""Presentation library pages (R-BRAND-4): upload PDFs (checked and rendered
once in a bounded child process), page-1 thumbnails, choose the default,
delete. Agents get the library in the call's document switcher through
services.call_notify.presentation_documents."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from aiohttp import web

from .. import keys
from ..errors import ValidationError
from ..i18n import gettext
from ..services.branding import presentations as service
from .auth import MANAGERS, require_manager_scope
from .forms import int_param
from .menu import MENU, MenuItem
from .render import flash, render

routes = web.RouteTableDef()


async def _page(request, tenant_id, *, errors=None, status=200):
    rows = await service.library(request.config_dict[keys.DATABASE], tenant_id)
    return await render(request, "branding/presentations.html", {
        "rows": rows, "errors": errors or {}, "max_mb": service.MAX_PDF_BYTES // (1024 * 1024),
        "max_pages": service.MAX_PAGES}, status=status)


@routes.get("/presentations", name="presentations")
async def presentations_page(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    return await _page(request, tenant_id)


@routes.post("/presentations")
async def presentation_upload(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    try:
        form: Mapping[str, object] = await request.post()
    except ValueError:
        form = {}
    field = form.get("file")
    data, filename = b"", ""
    if isinstance(field, web.FileField):
        data = await asyncio.to_thread(field.file.read, service.MAX_PDF_BYTES + 1)
        filename = field.filename or ""
    title = form.get("title")
    title = title if isinstance(title, str) else ""
    make_default = str(form.get("make_default", "")) in ("1", "on")
    try:
        await service.upload(request.config_dict[keys.DATABASE], tenant_id, data, filename=filename, title=title,
                             make_default=make_default)
    except ValidationError as exc:
        return await _page(request, tenant_id, errors=exc.fields, status=400)
    flash(request, gettext("Presentation uploaded."), "success")
    raise web.HTTPFound("/admin/presentations")


@routes.post("/presentations/{pid}/default")
async def presentation_default(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    await service.set_default(request.config_dict[keys.DATABASE], tenant_id, int_param(request, "pid"))
    flash(request, gettext("Default presentation chosen."), "success")
    raise web.HTTPFound("/admin/presentations")


@routes.post("/presentations/{pid}/delete")
async def presentation_delete(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    await service.delete(request.config_dict[keys.DATABASE], tenant_id, int_param(request, "pid"))
    flash(request, gettext("Presentation deleted."), "success")
    raise web.HTTPFound("/admin/presentations")


@routes.get("/presentations/{pid}/thumbnail.png")
async def presentation_thumbnail(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    data = await service.thumbnail(request.config_dict[keys.DATABASE], tenant_id, int_param(request, "pid"))
    return web.Response(body=data, content_type="image/png", headers={"Cache-Control": "private, max-age=300"})


def register(admin: web.Application) -> None:
    admin.router.add_routes(routes)


MENU.append(MenuItem("Presentations", "/admin/presentations", MANAGERS, order=55))
