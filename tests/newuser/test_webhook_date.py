"""Item 18: the webhook secret's creation date shows in the tenant's local time, not raw UTC ISO text."""

from __future__ import annotations

import re


async def test_secret_date_is_local(client, world, browser):
    await browser.login("admin.a@example.com")
    await browser.get("/admin/webhooks")
    await browser.post("/admin/webhooks/secret", {})
    page = await browser.get("/admin/webhooks")
    shown = re.search(r"A secret was created ([^.]+)\. It is not shown again", page.text).group(1)
    assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d\d\W[AP]M CES?T", shown), shown      # the tenants are in Europe/Berlin
    assert "+00:00" not in shown


async def test_favicon_is_served(client):
    resp = await client.get("/favicon.ico")
    assert resp.status == 200 and resp.headers["Content-Type"] == "image/svg+xml"
    assert (await client.get("/static/favicon.svg")).status == 200
