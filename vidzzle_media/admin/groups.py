"""Call groups pages (R-GRP-1): list, create, edit, delete after confirmation."""

from __future__ import annotations

import asyncio

from aiohttp import web

from ..errors import Conflict, ValidationError
from ..i18n import gettext
from ..services.branding.images import MAX_IMAGE_BYTES, PICTURE_SIZE
from ..services.tenancy import groups as service
from .auth import MANAGERS, database, require_manager_scope
from .forms import int_param
from .menu import MENU, MenuItem
from .render import flash, render

routes = web.RouteTableDef()


async def _form(request, tenant_id, *, group=None, form=None, members=None, errors=None, status=200):
    db = database(request)
    choices = await service.member_choices(db, tenant_id)
    if group is not None and form is None:
        form, members = {"name": group.name, "description": group.description}, group.member_ids
    return await render(request, "routing/group_form.html", {
        "group": group, "form": form or {}, "members": set(members or []), "choices": choices,
        "errors": errors or {}, "has_picture": group is not None and group.has_picture,
        "picture_size": PICTURE_SIZE}, status=status)


async def _post(request):
    """(form, data, uploaded picture bytes or None, remove the picture?)"""
    try:
        form = await request.post()
    except ValueError:          # a body over the server's size limit
        raise ValidationError(fields={"picture": gettext("The file is too large (at most %(size)s KiB).",
                                                          size=MAX_IMAGE_BYTES // 1024)}) from None
    data = {"name": form.get("name", ""), "description": form.get("description", ""),
            "members": form.getall("members", [])}
    field = form.get("picture")
    upload = await asyncio.to_thread(field.file.read, MAX_IMAGE_BYTES + 1) if isinstance(field, web.FileField) else None
    return form, data, upload, form.get("remove_picture") == "1"


def _member_ints(values) -> list[int]:
    return [int(v) for v in values if str(v).isdigit()]


@routes.get("/groups", name="groups")
async def group_list(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    groups = await service.list_groups(database(request), tenant_id)
    names = {uid: name for uid, name, _ in await service.member_choices(database(request), tenant_id)}
    return await render(request, "routing/group_list.html", {"groups": groups, "names": names})


@routes.get("/groups/new")
async def group_new(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    return await _form(request, tenant_id)


@routes.post("/groups/new")
async def group_create(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    form, data, upload, _ = await _post(request)
    try:
        await service.create_group(database(request), tenant_id, data, upload)
    except ValidationError as exc:
        return await _form(request, tenant_id, form=data, members=_member_ints(data["members"]), errors=exc.fields,
                           status=400)
    flash(request, gettext("Call group %(name)s created.", name=data["name"].strip()), "success")
    raise web.HTTPFound("/admin/groups")


@routes.get("/groups/{group_id}/edit")
async def group_edit(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    group = await service.get_group(database(request), tenant_id, int_param(request, "group_id"))
    return await _form(request, tenant_id, group=group)


@routes.post("/groups/{group_id}/edit")
async def group_update(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    group = await service.get_group(database(request), tenant_id, int_param(request, "group_id"))
    form, data, upload, remove = await _post(request)
    try:
        await service.update_group(database(request), tenant_id, group.id, data, upload, remove)
    except ValidationError as exc:
        return await _form(request, tenant_id, group=group, form=data, members=_member_ints(data["members"]),
                           errors=exc.fields, status=400)
    flash(request, gettext("Call group %(name)s saved.", name=data["name"].strip()), "success")
    raise web.HTTPFound("/admin/groups")


@routes.get("/groups/{group_id}/picture")
async def group_picture(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    png = await service.picture(database(request), tenant_id, int_param(request, "group_id"))
    return web.Response(body=png, content_type="image/png", headers={"Cache-Control": "private, no-cache"})


@routes.get("/groups/{group_id}/delete")
async def group_delete_confirm(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    group = await service.get_group(database(request), tenant_id, int_param(request, "group_id"))
    return await render(request, "confirm.html", {
        "title": gettext("Delete call group %(name)s?", name=group.name),
        "message": gettext("The call group %(name)s will be deleted. This cannot be undone, not even by support.",
                           name=group.name),
        "action": f"/admin/groups/{group.id}/delete", "button": gettext("Delete call group"), "danger": True,
        "cancel": "/admin/groups"})


@routes.post("/groups/{group_id}/delete")
async def group_delete(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await require_manager_scope(request)
    try:
        group = await service.delete_group(database(request), tenant_id, int_param(request, "group_id"))
    except Conflict as exc:
        flash(request, exc.message, "error")
        raise web.HTTPFound("/admin/groups") from None
    flash(request, gettext("Call group %(name)s deleted.", name=group.name), "success")
    raise web.HTTPFound("/admin/groups")


def register(admin: web.Application) -> None:
    admin.router.add_routes(routes)


MENU.append(MenuItem("Call Groups", "/admin/groups", MANAGERS, order=30))
