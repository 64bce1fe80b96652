"""Item 14: the embed snippet follows the tenant's GDPR setting and has a Copy button."""

from __future__ import annotations

import re
from html import unescape

from tests.api.world import make_flow, make_group


def _snippet(page) -> str:
    return unescape(re.search(r'<textarea class="snippet"[^>]*>([^<]*)</textarea>', page.text).group(1))


async def test_snippet_reflects_gdpr_setting(client, world, browser):
    from tests.admin.helpers import database
    group = await make_group(database(client), world.tenant_a, "Sales team", [world.user_a])
    await make_flow(database(client), world.tenant_a, [(group, 30)])
    await browser.login("admin.a@example.com")
    page = await browser.get("/admin/flows")
    assert 'data-cwbbb-gdpr="1"' in _snippet(page)                       # on by default
    assert re.search(r'<button type="button" class="button small copy" data-copy="snippet-\d+"[^>]*>Copy</button>', page.text)
    assert '<script src="/static/js/admin.js" defer>' in page.text
    assert (await browser.get("/static/js/admin.js")).status == 200
    page = await browser.post("/admin/branding/gdpr", {"gdpr_text": "Our notice."})   # both boxes unticked
    assert page.status == 200
    page = await browser.get("/admin/flows")
    assert "data-cwbbb-gdpr" not in _snippet(page)
    await browser.post("/admin/branding/gdpr", {"gdpr_text": "Our notice.", "gdpr_incoming": "1"})
    assert 'data-cwbbb-gdpr="1"' in _snippet(await browser.get("/admin/flows"))
