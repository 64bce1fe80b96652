"""Who sees the back office in which language: the user's choice, else the
tenant's, else the install's; before login the browser's."""

from __future__ import annotations

from tests.admin.conftest import browser, browser_factory, world  # noqa: F401
from tests.admin.helpers import database, make_tenant, make_user


async def test_german_tenant_works_in_german_and_can_switch(client, world, browser):
    db = database(client)
    tenant = await make_tenant(db, "Autohaus Nord", language="de")
    await make_user(db, tenant_id=tenant, role="admin", email="chef@nord.example")
    await browser.login("chef@nord.example")
    page = await browser.get("/admin/")
    assert '<html lang="de">' in page.text
    assert "Angemeldete Nutzer" in page.text and "Video-Call starten" in page.text
    assert "Users logged in now" not in page.text
    page = await browser.get("/admin/flows/new")
    assert "ganztägig geöffnet" in page.text and "Geschäftszeiten" in page.text
    page = await browser.post("/admin/language", {"language": "en", "next": "/admin/users"})
    assert page.path == "/admin/users" and '<html lang="en">' in page.text and "Add User" in page.text
    page = await browser.post("/admin/language", {"language": "xx", "next": "/admin/"})
    assert '<html lang="en">' in page.text                  # unknown: nothing changes


async def test_login_page_follows_the_browser(client):
    resp = await client.get("/admin/login", headers={"Accept-Language": "de-DE,de;q=0.9,en;q=0.8"})
    text = await resp.text()
    assert '<html lang="de">' in text and "Passwort vergessen?" in text
    resp = await client.get("/admin/login", headers={"Accept-Language": "fr-FR, en;q=0.5"})
    assert '<html lang="en">' in await resp.text()


async def test_install_default_before_login(aiohttp_client, settings):
    from vidzzle_media.app import create_app
    settings.server.language = "de"
    cli = await aiohttp_client(create_app(settings))
    assert "Anmelden" in await (await cli.get("/admin/login")).text()


async def test_messages_from_the_server_are_german_too(client, world, browser):
    db = database(client)
    tenant = await make_tenant(db, "Autohaus Ost", language="de")
    await make_user(db, tenant_id=tenant, role="admin", email="chef@ost.example")
    await browser.login("chef@ost.example")
    page = await browser.post("/admin/branding/sms", {"sms_invitation": "Hallo", "sms_notification": ""})
    assert ("success", "Branding gespeichert.") in page.flashes
    page = await browser.post("/admin/groups/new", {"name": "", "description": ""})
    assert page.field_errors == {"name": "Die Call Group braucht einen Namen."}
    page = await browser.post("/admin/users/new", {"name": "", "email": "x", "role": "user", "mobile": ""})
    assert page.field_errors["name"] == "Name fehlt."


async def test_public_api_and_error_pages_speak_the_asked_language(client):
    resp = await client.post("/api/calls", data="{not json", headers={"Accept-Language": "de-DE,de;q=0.9"})
    assert resp.status == 400 and (await resp.json())["error"] == "Der Anfrageinhalt muss JSON sein."
    resp = await client.post("/api/calls", data="{not json", headers={"Accept-Language": "en-US"})
    assert (await resp.json())["error"] == "The request body must be JSON."
    resp = await client.get("/admin/no-such-page?lang=de")
    assert resp.status == 404 and "<h1>Nicht gefunden</h1>" in await resp.text()
