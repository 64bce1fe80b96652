"""Security headers on every route (issue 25 item 4): nosniff everywhere; a
strict CSP (no inline script) and no framing for every HTML page of ours;
the customer's call page framable by dealer sites; HSTS only with a
certificate browsers trust. And no template carries inline script."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

import vidzzle_media
from tests.admin.conftest import browser, browser_factory, world  # noqa: F401
from vidzzle_media import headers

TEMPLATES = Path(vidzzle_media.__file__).parent / "admin" / "templates"
STATIC_PAGES = Path(vidzzle_media.__file__).parents[1] / "web"


def get_paths(app: web.Application) -> set[str]:
    """A concrete GET path for every route ({params} filled with 1)."""
    found = set()
    for resource in app.router.resources():
        info = resource.get_info()
        if "app" in info:                                   # a sub-application (the back office)
            found |= get_paths(info["app"])                  # its routes carry the prefix already
            continue
        if not any(route.method in ("GET", "*") for route in resource):
            continue
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if path:
            found.add(re.sub(r"\{[^}]+\}", "1", path))
    return found


async def test_every_route_sends_the_headers(client, world, browser):
    await browser.login("support@example.com")
    paths = sorted(get_paths(client.server.app) | {"/static/css/admin.css", "/no/such/page"})
    assert len(paths) > 40
    seen_html = []
    for path in paths:
        try:
            async with browser.session.get(browser.base + path, allow_redirects=False,
                                           timeout=aiohttp.ClientTimeout(total=3)) as resp:
                got = resp.headers
        except asyncio.TimeoutError:
            continue                                        # a stream (none today): nothing to read
        assert got.get("X-Content-Type-Options") == "nosniff", path
        assert "Strict-Transport-Security" not in got, path   # plain HTTP / self-signed: never HSTS
        if got.get("Content-Type", "").startswith("text/html"):
            seen_html.append(path)
            csp = got["Content-Security-Policy"]
            assert "script-src 'self';" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
            if headers.is_customer_page(path):     # framed by dealer sites; an invitation link never
                assert csp.endswith("frame-ancestors 'none'" if path.startswith("/join/") else "frame-ancestors *"), path
            else:
                assert "frame-ancestors 'none'" in csp and got["X-Frame-Options"] == "DENY", path
    assert "/call" in seen_html and "/admin/" in seen_html and "/no/such/page" in seen_html


async def test_hsts_only_with_a_trusted_certificate(aiohttp_client, settings, tmp_path):
    from vidzzle_media.app import create_app
    from vidzzle_media.tls import ensure_self_signed
    cert, key = ensure_self_signed(tmp_path / "operator")
    settings.tls.cert_file, settings.tls.key_file, settings.tls.enabled = str(cert), str(key), True
    client = await aiohttp_client(create_app(settings))
    resp = await client.get("/healthz")
    assert resp.headers["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.parametrize("page", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html"))
                         + sorted("web/" + p.relative_to(STATIC_PAGES).as_posix() for p in STATIC_PAGES.rglob("*.html")))
def test_no_inline_script(page):
    path = TEMPLATES / page if not page.startswith("web/") else STATIC_PAGES / page[4:]
    source = path.read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source), "inline <script>"
    assert not re.search(r"\son[a-z]+\s*=", source), "event-handler attribute"
    assert "javascript:" not in source


async def test_only_the_tenants_sites_may_frame_its_call_page(client, world, browser):
    from api.world import make_agents, make_flow, make_group

    from tests.admin.helpers import database
    db = database(client)
    group = await make_group(db, world.tenant_a, "Sales", await make_agents(db, world.tenant_a, 1, prefix="s"))
    embed = await make_flow(db, world.tenant_a, [(group, 30)])
    resp = await client.get(f"/call?embed={embed}")
    assert resp.headers["Content-Security-Policy"].endswith("frame-ancestors *")      # nobody named: any site
    await browser.login("admin.a@example.com")
    page = await browser.get("/admin/branding")
    assert 'id="sites-warning"' in page.text
    page = await browser.post("/admin/branding/sites", {"allowed_sites": "ftp://nope\nwww.autohaus.example"})
    assert page.status == 400 and "ftp://nope" in page.field_errors["allowed_sites"]
    page = await browser.post("/admin/branding/sites",
                              {"allowed_sites": "https://www.autohaus.example/kontakt\nshop.autohaus.example:8443"})
    assert page.status == 200 and 'id="sites-warning"' not in page.text
    resp = await client.get(f"/call?embed={embed}")
    assert resp.headers["Content-Security-Policy"].endswith(
        "frame-ancestors https://www.autohaus.example https://shop.autohaus.example:8443")
