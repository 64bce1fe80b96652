"""Every new back-office page renders for admin and support."""

import pytest

PAGES = ["/admin/", "/admin/calls", "/admin/branding", "/admin/branding/templates",
         "/admin/branding/templates/confirmation", "/admin/presentations"]


@pytest.mark.parametrize("path", PAGES)
async def test_admin_sees_page(world, browser, path):
    await browser.login("admin.a@example.com")
    page = await browser.get(path)
    assert page.status == 200, page.text[:2000]


async def test_support_edits_system_defaults(world, browser):
    await browser.login("support@example.com")
    page = await browser.get("/admin/branding")
    assert page.status == 200
    assert "system defaults" in page.text and 'name="appname"' in page.text
