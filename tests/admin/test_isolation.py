"""R-ROLE-3: every back-office route, under each role, answers a foreign
tenant's id exactly like a missing one (404), and every state-changing route
refuses a request without CSRF token (403). Routes come from the router."""

from __future__ import annotations

import pytest

from .helpers import database
from .routes import FACTORIES, MISSING_ID, NOT_IDS, admin_routes

ROLES = {"support": "support@example.com", "admin": "admin.a@example.com", "user": "user.a@example.com"}


async def _ids(client, world, route, cache):
    """(own values, foreign values, missing values) for the route's placeholders
    (each factory runs once per test: ``cache``)."""
    own, foreign, missing = {}, {}, {}
    for name in route.placeholders:
        if name in NOT_IDS:
            continue
        missing[name] = MISSING_ID
        factory = FACTORIES.get(name)
        if factory is None:
            own[name] = foreign[name] = MISSING_ID
        else:
            if name not in cache:
                cache[name] = await factory(database(client), world)
            a, b = cache[name]
            own[name], foreign[name] = str(a), str(b)
    return own, foreign, missing


async def _status(browser, method, url):
    headers = {"X-CSRF-Token": browser.token or ""}
    async with browser.session.request(method, browser.base + url, allow_redirects=False, headers=headers,
                                       data={}) as resp:
        return resp.status


def test_routes_are_discovered(client):
    routes = admin_routes(client.server.app)
    templates = {r.template for r in routes}
    assert "/admin/users/{user_id}/edit" in templates and "/admin/tenants/{tenant_id}/delete" in templates


@pytest.mark.parametrize("role", sorted(ROLES))
async def test_foreign_ids_answer_like_missing_ones(client, world, browser, role):
    page = await browser.login(ROLES[role])
    assert page.path == "/admin/", page.text
    if role == "support":   # tenant-scoped pages need a picked tenant
        await browser.post("/admin/scope", {"tenant": str(world.tenant_a)})
    checked, cache = 0, {}
    for route in admin_routes(client.server.app):
        names = [n for n in route.placeholders if n not in NOT_IDS]
        if not names:
            continue
        own, foreign, missing = await _ids(client, world, route, cache)
        missing_status = await _status(browser, route.method, route.url(missing))
        assert missing_status in (403, 404), (role, route, missing_status)
        if role == "support":
            # support sees every tenant; a missing id must still be 404 (or the page is forbidden)
            continue
        foreign_status = await _status(browser, route.method, route.url(foreign))
        assert foreign_status == missing_status, (role, route, foreign_status, missing_status)
        if route.method == "GET":
            own_status = await _status(browser, "GET", route.url(own))
            if own_status < 400:   # the role may use this page: then foreign must be 404
                assert foreign_status == 404, (role, route)
        checked += 1
    assert checked or role == "support"
    # nothing of tenant B was changed or deleted by the POSTs above
    db = database(client)
    assert await db.fetchval("SELECT COUNT(*) FROM users WHERE tenant_id = ?", (world.tenant_b,)) == 2
    assert await db.fetchval("SELECT name FROM tenants WHERE id = ?", (world.tenant_b,)) == "Beta Motors"
    assert (await browser.get("/admin/")).path == "/admin/"   # still logged in as ourselves, not switched


@pytest.mark.parametrize("logged_in", [True, False])
async def test_every_state_changing_route_needs_the_csrf_token(client, world, browser, logged_in):
    if logged_in:
        await browser.login("support@example.com")
    else:
        await browser.get("/admin/login")
    routes = [r for r in admin_routes(client.server.app) if r.method not in ("GET", "HEAD", "OPTIONS")]
    assert any(r.template == "/admin/login" for r in routes)
    cache = {}
    for route in routes:
        own, _, _ = await _ids(client, world, route, cache)
        url = route.url(own)
        async with browser.session.request(route.method, browser.base + url, data={"csrf_token": ""},
                                           allow_redirects=False) as resp:
            assert resp.status == 403, (route, resp.status)
        async with browser.session.request(route.method, browser.base + url, data={"csrf_token": "forged"},
                                           allow_redirects=False) as resp:
            assert resp.status == 403, (route, resp.status)
    db = database(client)
    assert await db.fetchval("SELECT COUNT(*) FROM users") == 5
    assert await db.fetchval("SELECT COUNT(*) FROM tenants") == 2
