"""Item 11: after creating a user the back office says the confirmation mail
is queued, and the user list shows when it was sent or why it was not."""

from __future__ import annotations

import re

from tests.admin.helpers import database


async def _create(browser, email):
    page = await browser.post("/admin/users/new", {"name": "Nina New", "email": email, "mobile": "+49 30 7654321",
                                                   "role": "user", "notify_email": "1"})
    assert page.status == 200 and page.path == "/admin/users", page.text[:500]
    return page


def _state(page, email: str) -> str:
    row = re.search(rf"<tr>(?:(?!</tr>).)*{re.escape(email)}(?:(?!</tr>).)*</tr>", page.text, re.S).group(0)
    found = re.search(r'<span class="mail-state[^"]*">([^<]*)</span>', row)
    return found.group(1) if found else ""


async def test_queued_then_sent(smtp_server, client, world, browser):
    await browser.login("admin.a@example.com")
    page = await _create(browser, "nina@example.com")
    (kind, text), = [f for f in page.flashes if "Nina New" in f[1]]
    assert "queued" in text and "was sent" not in text
    for _ in range(100):
        page = await browser.get("/admin/users")
        if _state(page, "nina@example.com").startswith("confirmation mail sent"):
            break
        import asyncio
        await asyncio.sleep(0.05)
    assert re.fullmatch(r"confirmation mail sent [A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d\d\W[AP]M CES?T", _state(page, "nina@example.com")), \
        _state(page, "nina@example.com")
    assert smtp_server.messages


async def test_queued_while_no_smtp_then_the_error(client, world, browser):
    await browser.login("admin.a@example.com")
    await _create(browser, "otto@example.com")
    page = await browser.get("/admin/users")
    assert _state(page, "otto@example.com") == "confirmation mail queued"
    db = database(client)
    async with db.transaction() as conn:   # what the worker records after a refused delivery
        await conn.execute("UPDATE outbox SET attempts = 1, last_error = 'SMTP 550 mailbox unavailable'"
                           " WHERE recipient = 'otto@example.com'")
    page = await browser.get("/admin/users")
    assert _state(page, "otto@example.com") == \
        "confirmation mail not delivered yet (SMTP 550 mailbox unavailable); retrying"
