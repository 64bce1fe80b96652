"""Item 4: "Users logged in now" counts back-office users active in the last
minutes (the viewer too, on first load), separately from who is online for calls."""

from __future__ import annotations

import re

from vidzzle_media import keys
from vidzzle_media.services.accounts import activity


def tiles(page) -> tuple[int, int]:
    logged_in = int(re.search(r'id="tile-logged-in">(\d+)<', page.text).group(1))
    online = int(re.search(r'id="tile-online">(\d+) online for calls<', page.text).group(1))
    return logged_in, online


async def test_two_logged_in_users_without_presence_sockets(client, world, browser_factory):
    admin, agent = browser_factory(), browser_factory()
    await admin.login("admin.a@example.com")
    assert tiles(await admin.get("/admin/")) == (1, 0)     # the viewer counts on first load
    await agent.login("user.a@example.com")
    assert tiles(await admin.get("/admin/")) == (2, 0)
    other_tenant = browser_factory()
    await other_tenant.login("admin.b@example.com")
    assert tiles(await admin.get("/admin/")) == (2, 0)     # tenant B's admin is not ours
    await agent.post("/admin/logout")
    assert tiles(await admin.get("/admin/")) == (1, 0)


async def test_activity_window_on_a_manual_clock(client, world):
    now = [1_000_000.0]
    act = activity.BackOfficeActivity(client.server.app[keys.DATABASE], clock=lambda: now[0])
    await act.seen(world.user_a)
    assert await act.logged_in_ids(world.tenant_a) == {world.user_a}
    now[0] += activity.WINDOW_S - 1
    assert await act.logged_in_ids(world.tenant_a) == {world.user_a}
    now[0] += 2
    assert await act.logged_in_ids(world.tenant_a) == set()
    await act.seen(world.user_a)
    assert await act.logged_in_ids(None) == {world.user_a}
