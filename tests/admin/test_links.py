"""Unknown, expired and used one-time links show a clear page, never a form or a 500."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from vidzzle_media.services.accounts import tokens

from .helpers import database


async def _token(client, user_id, purpose, *, issued_ago: timedelta, ttl: timedelta):
    db = database(client)
    async with db.transaction() as conn:
        return await tokens.issue(conn, purpose=purpose, user_id=user_id, tenant_id=None, subject="", ttl=ttl,
                                  now=datetime.now(timezone.utc) - issued_ago)


async def test_unknown_token(browser, world):
    for bad in ("x" * 43, "short", "%00%00", "a" * 300):
        page = await browser.get(f"/admin/set-password/{bad}")
        assert page.status == 404 and "This link is unknown" in page.text and 'name="password"' not in page.text
    page = await browser.post("/admin/set-password/" + "x" * 43, {"password": "whatever-123", "password2": "whatever-123"})
    assert page.status == 404


async def test_expired_token(browser, world, client):
    token = await _token(client, world.user_a, tokens.PURPOSE_RESET, issued_ago=timedelta(hours=25),
                         ttl=timedelta(hours=24))
    page = await browser.get(f"/admin/set-password/{token}")
    assert page.status == 410 and "expired" in page.text
    page = await browser.post(f"/admin/set-password/{token}", {"password": "whatever-123", "password2": "whatever-123"})
    assert page.status == 410
    assert (await browser.login("user.a@example.com", "whatever-123")).status == 401


async def test_used_token(browser, world, client):
    token = await _token(client, world.user_a, tokens.PURPOSE_RESET, issued_ago=timedelta(0), ttl=timedelta(hours=24))
    other = await _token(client, world.user_a, tokens.PURPOSE_RESET, issued_ago=timedelta(0), ttl=timedelta(hours=24))
    page = await browser.post(f"/admin/set-password/{token}", {"password": "first-pass-1", "password2": "first-pass-1"})
    assert page.path == "/admin/login"
    page = await browser.post(f"/admin/set-password/{token}", {"password": "second-pass", "password2": "second-pass"})
    assert page.status == 410 and "already been used" in page.text
    # setting a password retires the user's other open links as well
    assert (await browser.get(f"/admin/set-password/{other}")).status == 410
    assert (await browser.login("user.a@example.com", "first-pass-1")).path == "/admin/"


async def test_reset_keeps_a_lock_and_optin_unlocks(browser, world, client):
    db = database(client)
    await db.execute("UPDATE users SET locked = 1 WHERE id = ?", (world.user_a,))
    token = await _token(client, world.user_a, tokens.PURPOSE_RESET, issued_ago=timedelta(0), ttl=timedelta(hours=1))
    await browser.post(f"/admin/set-password/{token}", {"password": "locked-pass-1", "password2": "locked-pass-1"})
    assert (await browser.login("user.a@example.com", "locked-pass-1")).status == 403
    token = await _token(client, world.user_a, tokens.PURPOSE_OPTIN, issued_ago=timedelta(0), ttl=timedelta(hours=1))
    await browser.post(f"/admin/set-password/{token}", {"password": "optin-pass-1", "password2": "optin-pass-1"})
    assert (await browser.login("user.a@example.com", "optin-pass-1")).path == "/admin/"
