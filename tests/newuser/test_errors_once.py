"""Item 10: a validation error is shown once, at its field (no banner
repeating it, no second copy)."""

from __future__ import annotations

import re
from html import unescape


def shown(page, message: str) -> int:
    return unescape(re.sub(r"<[^>]+>", " ", page.text)).count(message)


async def test_group_name_error_once(world, browser):
    await browser.login("admin.a@example.com")
    page = await browser.post("/admin/groups/new", {"name": "", "description": ""})
    assert page.status == 400
    (message,) = page.field_errors.values()
    assert shown(page, message) == 1, page.text
    assert not [f for f in page.flashes if f[0] == "error"]


async def test_image_error_once(world, browser):
    await browser.login("admin.a@example.com")
    await browser.get("/admin/branding")
    import aiohttp
    form = aiohttp.FormData()
    form.add_field("csrf_token", browser.token)
    form.add_field("image", b"not an image", filename="x.png", content_type="image/png")
    async with browser.session.post(browser.base + "/admin/branding/images/header", data=form) as resp:
        from tests.admin.helpers import Page
        page = Page(resp.status, resp.url.path, await resp.text())
    assert page.status == 400
    (message,) = page.field_errors.values()
    assert shown(page, message) == 1, page.text


async def test_template_error_once(world, browser):
    await browser.login("admin.a@example.com")
    page = await browser.post("/admin/branding/templates/call_invitation", {"subject": "", "body": "", "action": "save"})
    assert page.status == 400
    assert page.field_errors
    for message in page.field_errors.values():
        assert shown(page, message) == 1, page.text


async def test_appname_error_once(world, browser):
    await browser.login("support@example.com")
    page = await browser.post("/admin/branding/appname", {"appname": "<b>x</b>" * 30})
    assert page.status == 400
    (message,) = page.field_errors.values()
    assert shown(page, message) == 1, page.text
