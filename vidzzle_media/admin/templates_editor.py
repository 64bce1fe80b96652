"""Email template editor (R-BRAND-6/7): the five templates with subject and
body, validated on save (missing __LINK__, variables or HTML in the
subject, unknown variables), a preview of the rendered mail, and
"send test mail to me" through the outbox."""

from __future__ import annotations

from aiohttp import web

from .. import i18n, keys
from ..errors import NotFound, ValidationError
from ..i18n import N_, gettext
from ..services.accounts.links import base_url
from ..services.branding import brand as service
from ..services.branding.mail_templates import BODY_VARIABLES, TEMPLATES, TemplateText
from ..services.outbox.mail import queue_test_mail
from ..services.outbox.mail_preview import preview
from .branding import scope, text_language
from .forms import form_data
from .render import flash, render, request_base, wake_outbox

routes = web.RouteTableDef()
TITLES = {
    "confirmation": N_("Confirmation email (opt-in)"),
    "password_change": N_("Password change email"),
    "after_password_change": N_("After password change email"),
    "call_invitation": N_("Call invitation email"),
    "call_notification": N_("Call notification email"),
    "callback_request": N_("Callback request email"),
}


def _name(request) -> str:
    name = request.match_info["name"]
    if name not in TEMPLATES:
        raise NotFound(gettext("No such template."))
    return name


async def _editor(request, user, tenant_id, name, language: str, *, draft: TemplateText | None = None, errors=None,
                  message="", status=200):
    db = request.config_dict[keys.DATABASE]
    settings = request.config_dict[keys.SETTINGS]
    current = await service.load(db, tenant_id)
    shown = draft or current.template(name, language)
    sample = None
    if not errors:
        sample = await preview(db, tenant_id=tenant_id, name=name, draft=draft, language=language,
                               to_name=user.name, to_email=user.email,
                               sender_name=user.name, base_url=base_url(settings, request_base(request)),
                               default_appname=settings.server.appname, default_sender=settings.smtp.sender)
    own = bool(current.own_text(f"tpl.{name}.body", language))
    return await render(request, "branding/template_edit.html", {
        "name": name, "title": gettext(TITLES[name]), "language": language, "languages": i18n.language_choices(), "form": {"subject": shown.subject, "body": shown.body},
        "errors": errors or {}, "message": message, "sample": sample, "variables": BODY_VARIABLES[name],
        "link_required": name != "after_password_change", "own": own, "scope_tenant": tenant_id,
    }, status=status)


@routes.get("/branding/templates", name="mail_templates")
async def template_list(request: web.Request) -> web.StreamResponse:
    _, tenant_id = await scope(request)
    language = await text_language(request, tenant_id)
    current = await service.load(request.config_dict[keys.DATABASE], tenant_id)
    rows = [(name, gettext(TITLES[name]), current.template(name, language).subject,
             bool(current.own_text(f"tpl.{name}.body", language))) for name in TEMPLATES]
    return await render(request, "branding/templates.html", {"rows": rows, "scope_tenant": tenant_id,
                                                            "language": language,
                                                            "languages": i18n.language_choices()})


@routes.get("/branding/templates/{name}")
async def template_edit(request: web.Request) -> web.StreamResponse:
    user, tenant_id = await scope(request)
    return await _editor(request, user, tenant_id, _name(request), await text_language(request, tenant_id))


@routes.post("/branding/templates/{name}")
async def template_save(request: web.Request) -> web.StreamResponse:
    user, tenant_id = await scope(request)
    name = _name(request)
    data = await form_data(request)
    language = await text_language(request, tenant_id, data)
    action = data.get("action", "save")
    db = request.config_dict[keys.DATABASE]
    here = f"/admin/branding/templates/{name}?lang={language}"
    if action == "reset":
        await service.reset_template(db, tenant_id, name, language)
        flash(request, gettext("Template reset to the default."), "success")
        raise web.HTTPFound(here)
    try:
        draft = service.parse_template(name, data)
    except ValidationError as exc:
        raw = TemplateText(str(data.get("subject", "")), str(data.get("body", "")))
        return await _editor(request, user, tenant_id, name, language, draft=raw, errors=exc.fields,
                             message=None if exc.fields else exc.message,
                             status=400)
    if action == "preview":
        return await _editor(request, user, tenant_id, name, language, draft=draft)
    await service.save_template(db, tenant_id, name, data, language)
    flash(request, gettext("Template saved."), "success")
    raise web.HTTPFound(here)


@routes.post("/branding/templates/{name}/test")
async def template_test(request: web.Request) -> web.StreamResponse:
    """Queue the saved template to the current user's own address."""
    user, tenant_id = await scope(request)
    name = _name(request)
    language = await text_language(request, tenant_id, await form_data(request))
    settings = request.config_dict[keys.SETTINGS]
    base = base_url(settings, request_base(request))
    await queue_test_mail(request.config_dict[keys.DATABASE], settings, template=name, tenant_id=tenant_id,
                          to_email=user.email, to_name=user.name, base=base, language=language)
    wake_outbox(request)
    flash(request, gettext("Test mail queued to %(email)s.", email=user.email), "success")
    raise web.HTTPFound(f"/admin/branding/templates/{name}?lang={language}")


def register(admin: web.Application) -> None:
    admin.router.add_routes(routes)
