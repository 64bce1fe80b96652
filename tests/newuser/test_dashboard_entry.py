"""Item 1: the dashboard's "Initiate Video-Call" opens the follow-up form."""

from __future__ import annotations

import re


async def test_initiate_video_call_opens_the_followup_form(client, world, browser):
    await browser.login("user.a@example.com")
    page = await browser.get("/admin/")
    link = re.search(r'<a class="button primary" href="([^"]+)">Initiate Video-Call</a>', page.text)
    assert link, page.text
    form = await browser.get(link.group(1))
    assert form.status == 200
    assert 'name="name_0"' in form.text and 'name="address_0"' in form.text
