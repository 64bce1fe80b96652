"""Routes for embed.js and the customer/invitee pages (docs/embed.md, docs/api.md).

/embed.js is loaded by any dealer site: CORS ``*``, short cache. The call
page is served from this server's origin (it runs inside embed.js's overlay
iframe), so its API calls are same-origin. The GDPR notice endpoint is open
to any origin (embed.js shows the notice on the host page before the call).
"""

from __future__ import annotations

import logging

from aiohttp import web

from .. import i18n, keys
from ..errors import NotFound
from ..headers import customer_policy
from ..middleware import json_errors
from ..paths import web_root
from ..services.branding import brand
from ..services.calls import followup
from ..services.tenancy import tenants as tenant_service

log = logging.getLogger(__name__)

CORS = {"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type"}
#: the call page may be framed by any site (embed.js overlay); nothing else of ours may
FRAME_ANY = {"Content-Security-Policy": customer_policy(), "Permissions-Policy": "camera=(self), microphone=(self)"}


async def embed_js(request: web.Request) -> web.StreamResponse:
    response = web.FileResponse(web_root() / "embed.js", headers={
        **CORS, "Content-Type": "application/javascript; charset=utf-8", "Cache-Control": "public, max-age=300",
        "X-Content-Type-Options": "nosniff"})
    return response


async def call_page(request: web.Request) -> web.StreamResponse:
    """The customer page. Framed by the dealer's site (embed.js): only the
    tenant's allowed sites may frame it (any, when the tenant named none);
    an invitation link (/join/...) is opened directly and never framed."""
    ancestors = "'none'" if request.path.startswith("/join/") else "*"
    embed_id = request.query.get("embed", "")[:100]
    if embed_id:
        tenant_id = await tenant_service.tenant_of_button(request.app[keys.DATABASE], embed_id)
        sites = tenant_id is not None and await brand.allowed_sites(request.app[keys.DATABASE], tenant_id)
        ancestors = " ".join(sites) if sites else "*"
    return web.FileResponse(web_root() / "call" / "index.html", headers={
        **FRAME_ANY, "Content-Security-Policy": customer_policy(ancestors), "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer"})


def _json(data, status: int = 200, cors: bool = False) -> web.Response:
    response = web.json_response(data, status=status)
    response.headers["Cache-Control"] = "no-store"
    if cors:
        response.headers.update(CORS)
    return response


@json_errors(CORS)
async def embed_gdpr(request: web.Request) -> web.Response:
    """The tenant's GDPR notice for an embed button (data-cwbbb-gdpr="1")."""
    db = request.app[keys.DATABASE]
    tenant_id = await tenant_service.tenant_of_button(db, request.match_info["embed_id"])
    if tenant_id is None:
        raise NotFound(i18n.gettext("Unknown call button."))
    notice = await followup.gdpr_notice(db, tenant_id, request.query.get("lang", "")[:20])
    return _json({"text": notice.text}, cors=True)


async def preflight(request: web.Request) -> web.Response:
    return web.Response(status=204, headers=CORS)


@json_errors()
async def invite_info(request: web.Request) -> web.Response:
    return _json(await followup.invite_info(request.app[keys.DATABASE], request.match_info["token"]))


@json_errors()
async def invite_join(request: web.Request) -> web.Response:
    return _json(await followup.join(request.app[keys.DATABASE], request.app[keys.ROOMS], request.match_info["token"]))


async def favicon(request: web.Request) -> web.StreamResponse:
    """Browsers ask for /favicon.ico on their own (pages link the SVG)."""
    return web.FileResponse(web_root() / "favicon.svg", headers={"Content-Type": "image/svg+xml",
                                                                 "Cache-Control": "max-age=86400"})


async def browser_messages(request: web.Request) -> web.Response:
    """The catalog for the browser scripts (customer page, embed overlay,
    agent pages): ``lang`` lists the wanted languages best first (the
    button's data-cwbbb-lang, the host page's lang, the browser's); without
    a match the tenant's language (``embed`` names the call button), else
    the install's."""
    wanted = [t for t in request.query.get("lang", "").split(",") if t.strip()][:10]
    default = request.app[keys.SETTINGS].server.language
    embed_id = request.query.get("embed", "")[:100]
    if embed_id:
        tenant_id = await tenant_service.tenant_of_button(request.app[keys.DATABASE], embed_id)
        tenant_language = tenant_id is not None and await tenant_service.language_of(request.app[keys.DATABASE],
                                                                                     tenant_id)
        default = tenant_language or default
    language = i18n.pick(*wanted, default=default)
    response = _json({"language": language, "messages": i18n.messages(language)}, cors=True)
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


def setup(app: web.Application) -> None:
    app.router.add_get("/i18n/messages.json", browser_messages)
    app.router.add_route("OPTIONS", "/i18n/messages.json", preflight)
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get("/embed.js", embed_js)
    app.router.add_route("OPTIONS", "/embed.js", preflight)
    app.router.add_get("/call", call_page)
    app.router.add_get("/join/{token}", call_page)
    app.router.add_get("/api/embed/{embed_id}/gdpr", embed_gdpr)
    app.router.add_route("OPTIONS", "/api/embed/{embed_id}/gdpr", preflight)
    app.router.add_get("/api/invites/{token}", invite_info)
    app.router.add_post("/api/invites/{token}/join", invite_join)
