"""Branding pages (R-BRAND-1/2/3/5): back-office style, GDPR notice, SMS texts
with a live counter, email sender/signature/images, and (support) the
global APPNAME. Admins edit their tenant; support edits the picked tenant,
or the system defaults when no tenant is picked."""

from __future__ import annotations

import asyncio

from aiohttp import web

from .. import i18n, keys
from ..errors import NotFound, ValidationError
from ..i18n import N_, gettext
from ..services.accounts.links import base_url
from ..services.branding import brand as service
from ..services.branding import sms_text
from ..services.branding.images import SIZES
from ..services.tenancy import tenants as tenant_service
from ..values import Role
from .auth import MANAGERS, database, require_user, tenant_scope
from .forms import form_data
from .menu import MENU, MenuItem
from .render import flash, render, request_base

routes = web.RouteTableDef()
TOKEN_LENGTH = 43   # services.tokens.issue: token_urlsafe(32)
SMS_LINKS = {"sms_invitation": "/join/", "sms_notification": "/admin/call-link/"}
SMS_LABELS = {"sms_invitation": N_("Call invitation"), "sms_notification": N_("Incoming-call notification")}


async def scope(request):
    """(user, tenant id or None = the system defaults)."""
    user = await require_user(request, *MANAGERS)
    return user, await tenant_scope(request, user)


def sample_links(request) -> dict[str, str]:
    base = base_url(request.config_dict[keys.SETTINGS], request_base(request))
    return {key: f"{base.rstrip('/')}{path}{'x' * TOKEN_LENGTH}" for key, path in SMS_LINKS.items()}


async def text_language(request, tenant_id: int | None, data=None) -> str:
    """The language whose texts (GDPR notice, SMS, mail templates) are being
    edited: the form's or the link's choice, else the tenant's language,
    else the install's."""
    chosen = (data or {}).get("language") or request.query.get("lang")
    default = await tenant_service.language_of(database(request), tenant_id) \
        or request.config_dict[keys.SETTINGS].server.language
    return i18n.pick(chosen, default=default)


async def _page(request, tenant_id, *, errors=None, form=None, status=200, language=None):
    db = database(request)
    language = language or await text_language(request, tenant_id)
    current = await service.load(db, tenant_id)
    inherited = await service.load(db, None) if tenant_id is not None else service.Branding(dict(service.BUILTIN), {})
    links = sample_links(request)
    own = dict(current.own, **{key: current.own_text(key, language) for key in service.LOCALIZED})
    form = dict(own, **(form or {}))
    for key in ("gdpr_outgoing", "gdpr_incoming"):
        form.setdefault(key, current.get(key))
    placeholders = {key: inherited.text(key, language) if key in service.LOCALIZED else inherited.get(key)
                    for key in service.BUILTIN}
    counters = {key: sms_text.left_after_link(form.get(key) or placeholders[key], link) for key, link in links.items()}
    settings = request.config_dict[keys.SETTINGS]
    return await render(request, "branding/index.html", {
        "scope_tenant": tenant_id, "form": form, "errors": errors or {}, "inherited": placeholders, "current": current,
        "language": language, "languages": i18n.language_choices(), "sms_labels": SMS_LABELS,
        "links": links, "counters": counters, "sizes": SIZES, "own_images": await service.own_images(db, tenant_id),
        "appname": await service.stored_appname(db), "default_appname": settings.server.appname,
        "default_sender": settings.smtp.sender,
    }, status=status)


@routes.get("/branding", name="branding")
async def branding_page(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await scope(request)
    return await _page(request, tenant_id)


@routes.post(r"/branding/{section:(backoffice|gdpr|sms|email|sites)}")
async def branding_save(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await scope(request)
    data = await form_data(request)
    language = await text_language(request, tenant_id, data)
    section = request.match_info["section"]
    try:
        await service.save_section(database(request), tenant_id, section, data, language)
    except ValidationError as exc:
        return await _page(request, tenant_id, errors=exc.fields, form=data, status=400, language=language)
    flash(request, gettext("Branding saved."), "success")
    if section == "sms":
        await _warn_multipart_sms(request, tenant_id, language)
    raise web.HTTPFound(f"/admin/branding?lang={language}#{section}")


async def _warn_multipart_sms(request, tenant_id, language: str) -> None:
    """A text that fits the form's limit can still need several SMS once the
    link is appended: say so, since every part is charged."""
    current = await service.load(database(request), tenant_id)
    for key, link in sample_links(request).items():
        counted = sms_text.left_after_link(current.text(key, language), link)
        if counted.segments > 1:
            flash(request, gettext("%(text)s: with the link it needs %(count)s SMS (%(over)s characters too many for one).",
                                   text=gettext(SMS_LABELS[key]), count=counted.segments, over=-counted.left_in_one),
                  "warning")


@routes.post(r"/branding/images/{kind:(header|hero)}")
async def image_upload(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await scope(request)
    kind = request.match_info["kind"]
    try:
        field = (await request.post()).get("image")
    except ValueError:
        field = None
    data = await asyncio.to_thread(field.file.read, 1024 * 1024 + 1) if isinstance(field, web.FileField) else b""
    try:
        await service.save_image(database(request), tenant_id, kind, data)
    except ValidationError as exc:
        return await _page(request, tenant_id, errors=exc.fields, status=400)
    flash(request, gettext("Header image saved.") if kind == "header" else gettext("Hero image saved."), "success")
    raise web.HTTPFound("/admin/branding")


@routes.post(r"/branding/images/{kind:(header|hero)}/delete")
async def image_delete(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await scope(request)
    await service.delete_image(database(request), tenant_id, request.match_info["kind"])
    flash(request, gettext("Image removed; the default is used again."), "success")
    raise web.HTTPFound("/admin/branding")


@routes.get(r"/branding/images/{kind:(header|hero)}")
async def image_show(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await scope(request)
    found = await service.image(database(request), tenant_id, request.match_info["kind"])
    if found is None:
        raise NotFound(gettext("No image uploaded; mails use the built-in default."))
    return web.Response(body=found.data, content_type=found.mime,
                        headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


@routes.post("/branding/appname")
async def appname_save(request: web.Request) -> web.StreamResponse:
    await require_user(request, Role.SUPPORT)
    data = await form_data(request)
    try:
        await service.set_appname(database(request), data.get("appname", ""))
    except ValidationError as exc:
        return await _page(request, None, errors=exc.fields, status=400)
    flash(request, gettext("Application name saved."), "success")
    raise web.HTTPFound("/admin/branding")


def register(admin: web.Application) -> None:
    admin.router.add_routes(routes)


MENU.append(MenuItem("Branding", "/admin/branding", MANAGERS, order=50))
