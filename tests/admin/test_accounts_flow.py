"""End to end through the back office: opt-in from the captured mail, both
reset paths, switch user and back, duplicate email, malformed forms."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .helpers import PASSWORD, database

_LINK = re.compile(r"https?://[^\s\"'<>]+/admin/set-password/[A-Za-z0-9_-]+")


def mail_text(message) -> str:
    parts = []
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            parts.append(part.get_content())
    return "\n".join(parts)


def link_path(message) -> str:
    found = _LINK.search(mail_text(message))
    assert found, mail_text(message)
    return urlsplit(found.group(0)).path


async def test_optin_flow_end_to_end(smtp_server, client, browser_factory, world):
    support = browser_factory()
    await support.login("support@example.com")
    # support creates a tenant and an admin for it
    page = await support.post("/admin/tenants/new", {"name": "Gamma Autohaus", "street": "Ring 2", "zip": "10115",
                                                     "city": "Berlin", "email": "info@gamma.example",
                                                     "timezone": "Europe/Berlin"})
    assert page.path == "/admin/tenants" and "Gamma Autohaus" in page.text
    tenant_id = await database(client).fetchval("SELECT id FROM tenants WHERE name = 'Gamma Autohaus'")
    page = await support.post("/admin/users/new", {"tenant_id": str(tenant_id), "name": "Greta Gamma",
                                                   "email": "greta@gamma.example", "role": "admin",
                                                   "mobile": "+49 30 1234567", "notify_email": "1"})
    assert page.path == "/admin/users" and "confirmation email" in page.text
    assert "awaiting confirmation" in page.text
    # the new account cannot log in yet
    greta = browser_factory()
    assert (await greta.login("greta@gamma.example", "anything at all")).status == 401

    [mail] = await smtp_server.wait(1)
    assert mail["To"].addresses[0].addr_spec == "greta@gamma.example"
    path = link_path(mail)
    page = await greta.get(path)
    assert page.status == 200 and "Greta Gamma" in page.text
    page = await greta.post(path, {"password": "short", "password2": "short"})
    assert page.status == 400 and "password" in page.field_errors
    page = await greta.post(path, {"password": "gamma-secret-1", "password2": "gamma-secret-2"})
    assert page.status == 400 and "password2" in page.field_errors
    page = await greta.post(path, {"password": "gamma-secret-1", "password2": "gamma-secret-1"})
    assert page.path == "/admin/login" and ("success", "Your password is set. Please log in.") in page.flashes
    # "after password change" mail
    mails = await smtp_server.wait(2)
    assert mails[1]["To"].addresses[0].addr_spec == "greta@gamma.example"
    assert not _LINK.search(mail_text(mails[1]))
    # the link is single use
    page = await greta.get(path)
    assert page.status == 410 and "already been used" in page.text
    # and the admin can now log in and sees her tenant's users only
    page = await greta.login("greta@gamma.example", "gamma-secret-1")
    assert page.path == "/admin/"
    page = await greta.get("/admin/users")
    assert "Greta Gamma" in page.text and "Alice Admin" not in page.text

    # the admin creates a user: tenant preset read-only
    page = await greta.get("/admin/users/new")
    assert "Gamma Autohaus" in page.text and 'name="tenant_id"' not in page.text
    page = await greta.post("/admin/users/new", {"name": "Gus", "email": "gus@gamma.example", "role": "user",
                                                 "mobile": "+49 30 7654321", "tenant_id": str(world.tenant_a)})
    assert page.path == "/admin/users"
    row = await database(client).fetchone("SELECT tenant_id, locked FROM users WHERE email = 'gus@gamma.example'")
    assert row["tenant_id"] == tenant_id and row["locked"] == 1


async def test_reset_by_admin(smtp_server, client, browser_factory, world):
    admin, agent = browser_factory(), browser_factory()
    await admin.login("admin.a@example.com")
    page = await admin.get(f"/admin/users/{world.user_a}/reset-password")
    assert "Send reset email" in page.text
    page = await admin.post(f"/admin/users/{world.user_a}/reset-password")
    assert page.path == "/admin/users" and "user.a@example.com" in page.text
    [mail] = await smtp_server.wait(1)
    path = link_path(mail)
    page = await agent.post(path, {"password": "brand-new-pass", "password2": "brand-new-pass"})
    assert page.path == "/admin/login"
    await smtp_server.wait(2)
    assert (await agent.login("user.a@example.com", PASSWORD)).status == 401
    assert (await agent.login("user.a@example.com", "brand-new-pass")).path == "/admin/"


async def test_self_service_reset_without_enumeration(smtp_server, client, browser_factory, world):
    visitor = browser_factory()
    page = await visitor.get("/admin/login")
    assert 'href="/admin/forgot-password"' in page.text
    known = await visitor.post("/admin/forgot-password", {"email": "user.b@example.com"})
    unknown = await visitor.post("/admin/forgot-password", {"email": "ghost@example.com"})
    assert known.status == unknown.status == 200
    assert re.sub(r'value="[^"]+"', "", known.text) == re.sub(r'value="[^"]+"', "", unknown.text)
    bad = await visitor.post("/admin/forgot-password", {"email": "not-an-email"})
    assert bad.status == 400 and "email" in bad.field_errors
    [mail] = await smtp_server.wait(1)
    assert mail["To"].addresses[0].addr_spec == "user.b@example.com"
    path = link_path(mail)
    page = await visitor.post(path, {"password": "self-service-1", "password2": "self-service-1"})
    assert page.path == "/admin/login"
    mails = await smtp_server.wait(2)
    assert mails[1]["To"].addresses[0].addr_spec == "user.b@example.com"
    assert (await visitor.login("user.b@example.com", "self-service-1")).path == "/admin/"


async def test_switch_user_and_back(browser, world):
    await browser.login("admin.a@example.com")
    page = await browser.get("/admin/users")
    assert f"/admin/users/{world.user_a}/switch" in page.text
    page = await browser.post(f"/admin/users/{world.user_a}/switch")
    assert page.path == "/admin/"
    assert "Udo User (Alice Admin)" in page.text
    # acting as the user: no user management
    assert (await browser.get("/admin/users")).status == 403
    # no nested switching
    assert (await browser.post(f"/admin/users/{world.admin_a}/switch")).status == 403
    page = await browser.post("/admin/logout")
    assert page.path == "/admin/" and "Alice Admin" in page.text and "(Alice Admin)" not in page.text
    assert (await browser.get("/admin/users")).status == 200
    # an admin cannot switch into another admin, nor into a foreign tenant's user
    assert (await browser.post(f"/admin/users/{world.admin_a}/switch")).status == 403
    assert (await browser.post(f"/admin/users/{world.user_b}/switch")).status == 404


async def test_support_switches_into_an_admin(browser, world):
    await browser.login("support@example.com")
    page = await browser.post(f"/admin/users/{world.admin_b}/switch")
    assert "Bob Admin (Sam Support)" in page.text
    page = await browser.get("/admin/users")
    assert "Berta User" in page.text and "Udo User" not in page.text
    page = await browser.post("/admin/logout")
    assert page.path == "/admin/" and "Sam Support" in page.text


async def test_duplicate_email_is_refused(browser, world, client):
    await browser.login("admin.a@example.com")
    form = {"name": "Copy", "email": "USER.B@example.com", "role": "user", "mobile": "+49 171 1111111"}
    page = await browser.post("/admin/users/new", form)
    assert page.status == 400
    assert page.field_errors["email"] == "This email address is already in use."
    assert 'value="Copy"' in page.text   # the form keeps what was typed
    page = await browser.post(f"/admin/users/{world.user_a}/edit", {**form, "email": "admin.a@example.com"})
    assert page.status == 400 and "already in use" in page.field_errors["email"]
    assert await database(client).fetchval("SELECT COUNT(*) FROM users WHERE name = 'Copy'") == 0


async def test_malformed_forms_rerender_with_errors(browser, world):
    await browser.login("support@example.com")
    page = await browser.post("/admin/users/new", {})
    assert page.status == 400
    assert {"name", "email", "role", "mobile"} <= set(page.field_errors)
    page = await browser.post("/admin/users/new", {"name": "x" * 500, "email": "a@b", "role": "wizard",
                                                   "mobile": "call me", "tenant_id": "abc"})
    assert page.status == 400 and {"name", "email", "role", "mobile"} <= set(page.field_errors)
    page = await browser.post("/admin/tenants/new", {"name": "T", "timezone": "Mars/Olympus"})
    assert page.status == 400 and "Unknown time zone" in page.field_errors["timezone"]
    page = await browser.post(f"/admin/users/{world.user_a}/edit", {"role": "support"})
    assert page.status == 400 and "role" in page.field_errors
    # odd bodies never give a 500
    async with browser.session.post(browser.base + "/admin/users/new", data=b"\xff\xfe%%%",
                                    headers={"Content-Type": "application/x-www-form-urlencoded",
                                             "X-CSRF-Token": browser.token}) as resp:
        assert resp.status == 400
    page = await browser.get("/admin/users/abc/edit")
    assert page.status == 404


async def test_admin_edits_role_but_never_tenant(browser, world, client):
    await browser.login("admin.a@example.com")
    page = await browser.get(f"/admin/users/{world.user_a}/edit")
    assert 'name="tenant_id"' not in page.text and "Alpha Cars" in page.text
    page = await browser.post(f"/admin/users/{world.user_a}/edit", {
        "name": "Udo Boss", "email": "user.a@example.com", "role": "admin", "mobile": "+49 171 1234567",
        "tenant_id": str(world.tenant_b), "notify_sms": "1"})
    assert page.path == "/admin/users"
    row = await database(client).fetchone("SELECT * FROM users WHERE id = ?", (world.user_a,))
    assert (row["name"], row["role"], row["tenant_id"], row["notify_sms"], row["notify_email"]) == \
        ("Udo Boss", "admin", world.tenant_a, 1, 0)


async def test_support_deletes_tenant_with_cascade(browser, world, client):
    await browser.login("support@example.com")
    page = await browser.get(f"/admin/tenants/{world.tenant_b}/delete")
    assert "cannot be undone" in page.text
    page = await browser.post(f"/admin/tenants/{world.tenant_b}/delete")
    assert page.path == "/admin/tenants" and "Beta Motors" not in page.text.split("<h1>Tenants</h1>")[1]
    db = database(client)
    assert await db.fetchval("SELECT COUNT(*) FROM users WHERE tenant_id = ?", (world.tenant_b,)) == 0


async def test_dashboard_tiles_and_call_entry(browser, world):
    """"Users logged in now" counts the viewer; "online for calls" the presence sockets."""
    await browser.login("admin.a@example.com")
    page = await browser.get("/admin/")
    assert 'id="tile-logged-in">1<' in page.text and 'id="tile-online">0 online' in page.text
    assert '<script type="module" src="/static/agent/console.js">' in page.text
    ws = await browser.session.ws_connect(browser.base + "/ws/agent")
    assert (await ws.receive_json())["type"] == "hello"
    page = await browser.get("/admin/")
    assert 'id="tile-logged-in">1<' in page.text and 'id="tile-online">1 online' in page.text
    await ws.close()
    assert 'id="tile-calls-today">0<' in page.text
    assert "Initiate Video-Call" in page.text
