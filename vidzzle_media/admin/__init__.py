"""The back office: an aiohttp sub-app at /admin with server-rendered pages.

Page areas are modules with ``def register(admin_app: web.Application)``
listed in ``PAGES`` (dotted names or module objects); ``setup(app)`` imports
each and lets it add its routes. Menu entries go to ``menu.MENU``. Every
state-changing request passes the CSRF middleware (csrf.py); pages call
``auth.require_user`` and render with ``render.render``.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import Callable

import aiohttp_jinja2
import jinja2
from aiohttp import web

from .. import i18n, keys
from .auth import language_middleware
from .csrf import csrf_middleware
from .render import localtime

TEMPLATES = Path(__file__).resolve().parent / "templates"

PAGES: list[str | ModuleType] = [
    "vidzzle_media.admin.login",
    "vidzzle_media.admin.language",
    "vidzzle_media.admin.dashboard",
    "vidzzle_media.admin.users",
    "vidzzle_media.admin.tenants",
    "vidzzle_media.admin.outbox",
    "vidzzle_media.admin.checks",
    "vidzzle_media.admin.groups",
    "vidzzle_media.admin.flows",
    "vidzzle_media.admin.webhooks",
    "vidzzle_media.admin.call_link",
    "vidzzle_media.admin.calls",
    "vidzzle_media.admin.callbacks",
    "vidzzle_media.admin.branding",
    "vidzzle_media.admin.templates_editor",
    "vidzzle_media.admin.presentations",
    "vidzzle_media.admin.console",
    "vidzzle_media.admin.followup",
]


async def _to_admin(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/admin/")


def template_environment(app: web.Application) -> jinja2.Environment:
    """The back office's Jinja environment (translated, autoescaped), stored under keys.JINJA."""
    filters: dict[str, Callable[..., str]] = {"localtime": localtime, "number": i18n.format_number}
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(str(TEMPLATES)), app_key=keys.JINJA,
                               autoescape=jinja2.select_autoescape(default=True), undefined=jinja2.ChainableUndefined,
                               filters=filters, extensions=["jinja2.ext.i18n"])
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by jinja2.ext.i18n
        i18n.raw_gettext, i18n.raw_ngettext, newstyle=True)
    return env


def setup(app: web.Application) -> web.Application:
    """Mount the back office at /admin (and redirect / to it); its pages
    render with the environment of ``template_environment``."""
    admin = web.Application(middlewares=[language_middleware, csrf_middleware])
    for page in PAGES:
        module = importlib.import_module(page) if isinstance(page, str) else page
        module.register(admin)
    app.router.add_get("/", _to_admin)
    app.add_subapp("/admin", admin)
    app[keys.ADMIN_APP] = admin
    return admin
