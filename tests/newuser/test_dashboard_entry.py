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


async def test_item5_incoming_and_outgoing_each_counted_and_averaged(client, world, browser):
    """One definition for both tiles: incoming calls; follow-up calls beside them."""
    from datetime import datetime, timedelta, timezone

    from tests.admin.helpers import database
    from tests.backoffice.calls_seed import call_row, insert
    now = datetime.now(timezone.utc) - timedelta(minutes=1)
    await insert(database(client), [
        call_row(world.tenant_a, now, duration=60),
        call_row(world.tenant_a, now, state="missed", miss_reason="rang_unanswered"),
        call_row(world.tenant_a, now, direction="outgoing", duration=600),
    ])
    await browser.login("admin.a@example.com")
    page = await browser.get("/admin/")
    assert 'id="tile-calls-today">2<' in page.text
    assert 'id="tile-avg-duration">1:00 min<' in page.text          # not (60 + 600) / 2
    assert 'id="tile-outgoing" href="/admin/calls?date=' in page.text and ">1 outgoing<" in page.text
    assert ">outgoing: 10:00 min<" in page.text
