"""Rendering back-office pages: ``render(request, template, context)`` adds
everything the layout needs (user, menu, branding slots, flash messages,
CSRF token); ``flash()`` queues a one-time message for the next page.

Branding slots come from ``services.branding.brand.backoffice_slots``: the
tenant's header links (sanitized to links), footer text and app name.
"""

from __future__ import annotations

import logging
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Mapping

import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import SESSION_KEY, get_session
from markupsafe import Markup

from .. import keys
from ..i18n import current_language, format_when, language_choices
from ..services.branding import brand
from ..services.tenancy import tenants
from ..services.tenancy.tenants import timezone_of
from ..values import Role
from .auth import CurrentUser, current_user, tenant_scope
from .csrf import csrf_token
from .menu import visible_menu

log = logging.getLogger(__name__)

#: aiohttp_jinja2 environment of the back office (kept on the main app so
#: error pages outside /admin render too)
FLASH_FIELD = "flash"


@dataclass(frozen=True)
class Slots:
    """Branding slots of the layout."""

    header_links_html: Markup
    """Links shown top right (sanitized HTML)."""
    footer_text: str
    """Plain text bottom left."""
    appname: str
    """Application name in the header and titles."""


def flash(request: web.Request, text: str, kind: str = "info") -> None:
    """Queue a message shown once on the next rendered page (kind: info, success, warning, error)."""
    session = request.get(SESSION_KEY)
    if session is None:   # outside the admin middleware: nothing to attach to
        log.debug("flash without session dropped")
        return
    session[FLASH_FIELD] = [*session.get(FLASH_FIELD, []), [kind, text]]


def _pop_flashes(session) -> list[tuple[str, str]]:
    items = session.pop(FLASH_FIELD, None) or []
    return [(str(k), str(t)) for k, t in items]


async def branding_slots(request: web.Request, user: CurrentUser | None) -> Slots:
    """The header links, footer and name the tenant's branding sets (the defaults where it sets none)."""
    settings = request.config_dict[keys.SETTINGS]
    appname = settings.server.appname
    default = Slots(Markup(""), f"{appname}", appname)
    try:
        found = await brand.backoffice_slots(request.config_dict[keys.DATABASE], user.tenant_id if user else None)
    except Exception:   # a branding bug must not take the back office down
        log.exception("branding slots failed; using defaults")
        return default
    return Slots(Markup(found["header_links_html"] or ""),
                 str(found["footer_text"] or default.footer_text),
                 str(found["appname"] or appname))


async def _tenant_choices(request: web.Request, user: CurrentUser | None):
    if user is None or user.role != Role.SUPPORT:
        return [], None
    db = request.config_dict[keys.DATABASE]
    try:
        current = await tenant_scope(request, user)
    except Exception:
        current = None
    return await tenants.list_tenants(db, user), current


@jinja2.pass_context
def localtime(ctx, value: str | None) -> str:
    """A stored UTC ISO timestamp as the page's local time (the tenant's zone)."""
    if not value:
        return ""
    try:
        at = datetime.fromisoformat(str(value))
        zone = zoneinfo.ZoneInfo(ctx.get("timezone") or "UTC")
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        return str(value)
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return format_when(at, zone)


async def page_context(request: web.Request, context: Mapping | None = None) -> dict:
    session = await get_session(request)
    user = await current_user(request)
    choices, current_tenant = await _tenant_choices(request, user)
    ctx = {
        "request": request,
        "user": user,
        "menu": visible_menu(user.role if user else None),
        "current_path": request.path,
        "csrf_token": csrf_token(session),
        "flashes": _pop_flashes(session),
        "slots": await branding_slots(request, user),
        "tenant_choices": choices,
        "current_tenant": current_tenant,
        "language": current_language(),
        "language_choices": language_choices(),
        "timezone": await timezone_of(request.config_dict[keys.DATABASE], user.tenant_id if user else None),
        "errors": {},
        "form": {},
    }
    ctx.update(context or {})
    return ctx


async def render(request: web.Request, template: str, context: Mapping | None = None, *,
                 status: int = 200) -> web.Response:
    """Render ``admin/templates/<template>`` inside the layout."""
    ctx = await page_context(request, context)
    response = aiohttp_jinja2.render_template(template, request, ctx, app_key=keys.JINJA, status=status)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


async def render_error(request: web.Request, status: int, title: str, message: str) -> web.StreamResponse:
    """The app's ERROR_RENDERER: error pages inside the back-office layout."""
    try:
        response = await render(request, "error.html", {"status": status, "title": title, "message": message},
                                status=status)
    except Exception:
        log.exception("error page failed to render")
        return web.Response(status=status, text=f"{status} {title}\n{message}\n")
    if status == 429:
        response.headers["Retry-After"] = "60"
    return response


def request_base(request: web.Request) -> str:
    """Origin of the request, for links when server.public_url is empty."""
    return f"{request.scheme}://{request.host}"


def wake_outbox(request: web.Request) -> None:
    """Ask the outbox worker to deliver now (call after the commit)."""
    request.config_dict[keys.OUTBOX].wake()


def redirect(location: str) -> web.HTTPFound:
    return web.HTTPFound(location)
