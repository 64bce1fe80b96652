"""The support page "Checks" shows the doctor's findings (tests/ops/test_doctor.py
checks each one); other roles do not get it; the login page guides a new install."""

from __future__ import annotations


async def test_support_sees_the_checks(browser, world):
    await browser.login("support@example.com")
    page = await browser.get("/admin/")
    assert 'href="/admin/checks"' in page.text
    page = await browser.get("/admin/checks")
    assert page.status == 200
    assert 'id="checks"' in page.text and "passed," in page.text
    for check in ("Public address", "Server answers", "Data folder", "Clock", "Allowed websites"):
        assert f"<td>{check}</td>" in page.text, check
    assert "Alpha Cars" in page.text          # the tenants without allowed websites are named


async def test_only_support(browser, world):
    await browser.login("admin.a@example.com")
    assert 'href="/admin/checks"' not in (await browser.get("/admin/")).text
    assert (await browser.get("/admin/checks")).status == 403


async def test_login_page_guides_only_while_nobody_can_log_in(browser, world):
    page = await browser.get("/admin/login")
    assert 'id="first-run"' not in page.text            # accounts with a password exist


async def test_login_page_on_a_new_install(browser):
    page = await browser.get("/admin/login")
    assert 'id="first-run"' in page.text and "vidzzle-media create-support" in page.text
