"""Users pages (R-ACC-2..6): list, create, edit, delete, reset password, switch user."""

from __future__ import annotations

from aiohttp import web

from .. import keys
from ..errors import Conflict, ValidationError
from ..i18n import gettext
from ..services.accounts import links as account_links
from ..services.accounts import users as accounts
from ..services.outbox import status as mail_status
from ..services.tenancy import tenants as tenant_service
from ..values import Role
from .auth import MANAGERS, database, require_user, switch_into, tenant_scope
from .forms import form_data, int_param
from .render import flash, render, request_base, wake_outbox

routes = web.RouteTableDef()


async def _form_page(request, user, *, existing=None, form=None, errors=None, status=200):
    db = database(request)
    tenants = await tenant_service.list_tenants(db, user)
    names = {t.id: t.name for t in tenants}
    if existing is not None:
        form = form if form is not None else {
            "name": existing.name, "email": existing.email, "mobile": existing.mobile, "role": existing.role,
            "locked": existing.locked, "notify_email": existing.notify_email, "notify_sms": existing.notify_sms}
        fixed_tenant = names.get(existing.tenant_id, "—") if existing.tenant_id else "— (support)"
    else:
        form = form if form is not None else {"notify_email": True}
        fixed_tenant = names.get(user.tenant_id, "") if user.role == Role.ADMIN else None
    roles = accounts.assignable_roles(user, existing)
    return await render(request, "users/form.html", {
        "existing": existing, "form": form, "errors": errors or {}, "tenants": tenants, "fixed_tenant": fixed_tenant,
        "roles": [(r, gettext(accounts.ROLE_LABELS[r])) for r in roles],
        "preset_tenant": await tenant_scope(request, user) if user.role == Role.SUPPORT else None,
    }, status=status)


@routes.get("/users", name="users")
async def users_list(request: web.Request) -> web.StreamResponse:
    user = await require_user(request, *MANAGERS)
    db = database(request)
    tenant_id = await tenant_scope(request, user)
    rows = await accounts.list_users(db, user, tenant_id=tenant_id)
    tenants = {t.id: t.name for t in await tenant_service.list_tenants(db, user)}
    mails = await mail_status.last_mail_status(db, [u.email for u in rows if u.password_hash is None])
    return await render(request, "users/list.html", {
        "rows": rows, "tenant_names": tenants, "role_labels": accounts.ROLE_LABELS, "mails": mails,
        "may_switch": {u.id: accounts.may_switch(user, u) for u in rows}})


@routes.get("/users/new", name="user_new")
async def user_new(request: web.Request) -> web.StreamResponse:
    user = await require_user(request, *MANAGERS)
    return await _form_page(request, user)


@routes.post("/users/new")
async def user_create(request: web.Request) -> web.StreamResponse:
    user = await require_user(request, *MANAGERS)
    data = await form_data(request)
    try:
        created = await account_links.create_user(database(request), request.config_dict[keys.SETTINGS], user, data,
                                             request_base=request_base(request))
    except (ValidationError, Conflict) as exc:
        return await _form_page(request, user, form=data, errors=exc.fields or {"email": exc.message}, status=400)
    wake_outbox(request)
    flash(request, gettext("User %(name)s created. A confirmation email with a link to set the password is queued "
                           "for %(email)s; the list below shows its delivery. The account stays locked until "
                           "the password is set.", name=created.name, email=created.email), "success")
    raise web.HTTPFound("/admin/users")


@routes.get("/users/{user_id}/edit", name="user_edit")
async def user_edit(request: web.Request) -> web.StreamResponse:
    user = await require_user(request, *MANAGERS)
    existing = await accounts.get_user(database(request), user, int_param(request, "user_id"))
    return await _form_page(request, user, existing=existing)


@routes.post("/users/{user_id}/edit")
async def user_update(request: web.Request) -> web.StreamResponse:
    user = await require_user(request, *MANAGERS)
    existing = await accounts.get_user(database(request), user, int_param(request, "user_id"))
    data = await form_data(request)
    try:
        updated = await accounts.update_user(database(request), user, existing.id, data)
    except (ValidationError, Conflict) as exc:
        return await _form_page(request, user, existing=existing, form=data,
                                errors=exc.fields or {"email": exc.message}, status=400)
    note = " " + gettext("The lock takes effect at the next login.") if updated.locked and not existing.locked else ""
    flash(request, gettext("User %(name)s saved.", name=updated.name) + note, "success")
    raise web.HTTPFound("/admin/users")


@routes.get("/users/{user_id}/delete", name="user_delete")
async def user_delete_confirm(request: web.Request) -> web.StreamResponse:
    user = await require_user(request, *MANAGERS)
    target = await accounts.get_user(database(request), user, int_param(request, "user_id"))
    return await render(request, "confirm.html", {
        "title": gettext("Delete user %(name)s?", name=target.name),
        "message": gettext("The user %(name)s (%(email)s) will be deleted with all their statistics and settings. "
                           "This cannot be undone, not even by support.", name=target.name, email=target.email),
        "action": f"/admin/users/{target.id}/delete", "button": gettext("Delete user"), "danger": True,
        "cancel": "/admin/users"})


@routes.post("/users/{user_id}/delete")
async def user_delete(request: web.Request) -> web.StreamResponse:
    user = await require_user(request, *MANAGERS)
    target = await accounts.delete_user(database(request), user, int_param(request, "user_id"))
    flash(request, gettext("User %(name)s deleted.", name=target.name), "success")
    raise web.HTTPFound("/admin/users")


@routes.get("/users/{user_id}/reset-password", name="user_reset")
async def user_reset_confirm(request: web.Request) -> web.StreamResponse:
    user = await require_user(request, *MANAGERS)
    target = await accounts.get_user(database(request), user, int_param(request, "user_id"))
    return await render(request, "confirm.html", {
        "title": gettext("Reset the password of %(name)s?", name=target.name),
        "message": gettext("%(name)s gets an email at %(email)s with a link to set a new password. "
                           "The current password keeps working until then.", name=target.name, email=target.email),
        "action": f"/admin/users/{target.id}/reset-password", "button": gettext("Send reset email"),
        "cancel": "/admin/users"})


@routes.post("/users/{user_id}/reset-password")
async def user_reset(request: web.Request) -> web.StreamResponse:
    user = await require_user(request, *MANAGERS)
    target = await account_links.send_reset_by_admin(database(request), request.config_dict[keys.SETTINGS], user,
                                                     int_param(request, "user_id"),
                                                     request_base=request_base(request))
    wake_outbox(request)
    flash(request, gettext("An email with a link to set a new password is queued for %(email)s.", email=target.email),
          "success")
    raise web.HTTPFound("/admin/users")


@routes.post("/users/{user_id}/switch", name="user_switch")
async def user_switch(request: web.Request) -> web.StreamResponse:
    user = await require_user(request, *MANAGERS)
    target = await accounts.switch_target(database(request), user, int_param(request, "user_id"))
    await switch_into(request, user, target.id)
    flash(request, gettext("You are now working as %(name)s. Log out to return to your own account.", name=target.name),
          "info")
    raise web.HTTPFound("/admin/")


def register(admin: web.Application) -> None:
    admin.router.add_routes(routes)
