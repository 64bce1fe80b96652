"""Issue 22 in real Chromium: what a new user sees on the customer and
invitee page, the overlay, the agent's pages and the back office, checked at
1280x800 and 390x844 (helpers.at_sizes)."""

from __future__ import annotations

import asyncio
import re

import pytest
from admin.helpers import make_user

from .helpers import agent_console, at_sizes, fully_in_view, logged_in, only_panel, team, wait_true

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

LINK = re.compile(r"(http://127\.0\.0\.1:\d+/join/[A-Za-z0-9_-]+)")


async def tenant_admin(chromium, world, tenant_name: str):
    """A new tenant's admin, logged in: (context, page)."""
    tenant, _, _, _ = await team(world, tenant_name)
    email = f"admin.{tenant}@example.com"
    await make_user(world.db, tenant_id=tenant, role="admin", email=email)
    return await logged_in(chromium, world, email)


async def test_item2_call_page_shows_only_the_current_panel(chromium, world):
    from vidzzle_media.services.branding import brand
    tenant, _, emails, _ = await team(world, "Panel Cars")
    await brand.save_section(world.db, tenant, "gdpr", {"gdpr_text": "Panel Cars processes your picture.",
                                                        "gdpr_outgoing": "1"}, "en")
    actx, agent = await agent_console(chromium, world, emails[0])
    await agent.goto(world.base + "/admin/followup")
    await agent.fill("input[name=name_0]", "Ina Invitee")
    await agent.fill("input[name=address_0]", "ina.panel@example.com")
    await agent.click("#start-call")
    await agent.wait_for_selector("#in-call:not([hidden])")
    mails = await world.mails.wait(1, timeout=15)
    mail = next(m for m in reversed(mails) if m["To"].addresses[0].addr_spec == "ina.panel@example.com")
    link = LINK.search(mail.get_body(("plain",)).get_content()).group(1)

    ictx = await chromium.new_context()
    invitee = await ictx.new_page()
    await invitee.goto(link)
    await invitee.wait_for_selector("#gdpr-accept")

    async def gdpr():
        await only_panel(invitee, "v-gdpr")
        await fully_in_view(invitee, invitee, "#gdpr-accept")
        assert not await invitee.locator("#hangup").is_visible()
    await at_sizes(invitee, "item2-gdpr", gdpr)
    # hold the media back so the waiting panel stays long enough to be seen
    await invitee.evaluate("""() => { const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
        window.releaseMedia = null;
        navigator.mediaDevices.getUserMedia = (c) => new Promise((ok) => { window.releaseMedia = () => ok(gum(c)); }); }""")
    await invitee.click("#gdpr-accept")
    await wait_true(invitee, "window.releaseMedia !== null && window.releaseMedia !== undefined")

    async def waiting():
        await only_panel(invitee, "v-wait")
        assert not await invitee.locator("#remote-video").is_visible()
    await at_sizes(invitee, "item2-waiting", waiting)
    await invitee.evaluate("window.releaseMedia()")
    await invitee.wait_for_selector("#v-call:not([hidden])", timeout=15000)

    async def in_call():
        await only_panel(invitee, "v-call")
        await fully_in_view(invitee, invitee, "#hangup")
    await at_sizes(invitee, "item2-call", in_call)
    await agent.click("#hangup")
    await invitee.wait_for_selector("#v-end:not([hidden])", timeout=10000)

    async def ended():
        await only_panel(invitee, "v-end")
        assert "ended" in (await invitee.text_content("#end-title"))
    await at_sizes(invitee, "item2-ended", ended)
    # the used link: the error state
    other = await ictx.new_page()
    await other.goto(link)
    await other.wait_for_selector("#v-end:not([hidden])")

    async def error():
        await only_panel(other, "v-end")
        assert "no longer valid" in await other.text_content("#end-title")
    await at_sizes(other, "item2-error", error)
    await ictx.close()
    await actx.close()


async def test_item3_sms_counter_updates_while_typing(chromium, world):
    ctx, page = await tenant_admin(chromium, world, "Counter Cars")
    await page.goto(world.base + "/admin/branding")
    count = page.locator("#count-sms_invitation")
    link = await page.get_attribute("#f-sms_invitation", "data-link")
    assert "/join/" in link
    await page.fill("#f-sms_invitation", "Hallo")
    assert (await count.text_content()).startswith(f"{160 - 6 - len(link)} of 160 characters left")
    await page.fill("#f-sms_invitation", "Hallo 😀")
    assert len("Hallo 😀 " + link) > 70    # UCS-2: one SMS holds 70
    assert await count.text_content() == "Too long for one SMS: 2 SMS (Unicode (UCS-2))."
    await ctx.close()


async def _customer(chromium, world, embed):
    from .helpers import call_frame, click_call
    ctx = await chromium.new_context()
    host = await ctx.new_page()
    await host.goto(f"{world.host}/?embed={embed}&name=Erika")
    await click_call(host)
    return ctx, host, await call_frame(host)


async def test_item6_agent_on_call_ended_page_is_rung(chromium, world):
    from .helpers import toast
    _, _, emails, embed = await team(world, "Ended Cars")
    actx, agent = await agent_console(chromium, world, emails[0])
    cctx, _, frame = await _customer(chromium, world, embed)
    call_id = await toast(agent)
    await agent.click(f".toast[data-call-id='{call_id}'] .accept")
    await agent.wait_for_url(f"**/admin/call/{call_id}")
    await frame.wait_for_selector("#v-call:not([hidden])", timeout=15000)
    await agent.click("#hangup")
    await agent.wait_for_selector("#summary:not([hidden])")
    await agent.wait_for_selector("#presence[data-state=online]", timeout=10000)
    await cctx.close()
    cctx2, _, _ = await _customer(chromium, world, embed)
    second = await toast(agent)
    assert second != call_id

    async def rung():
        assert await agent.locator("#summary").is_visible()
        await fully_in_view(agent, agent, f".toast[data-call-id='{second}'] .accept")
        assert "online" in (await agent.text_content("#presence")).lower()
    await at_sizes(agent, "item6-ended-page-rings", rung)
    await cctx2.close()
    await actx.close()


class _Records:
    """Server log records of ERROR level or with a traceback, while active."""

    def __init__(self):
        import logging
        self.found: list = []
        self.handler = logging.Handler()
        self.handler.emit = lambda r: self.found.append(r) if r.levelno >= logging.ERROR or r.exc_info else None

    def __enter__(self):
        import logging
        logging.getLogger().addHandler(self.handler)
        return self

    def __exit__(self, *exc):
        import logging
        logging.getLogger().removeHandler(self.handler)

    def texts(self) -> list[str]:
        return [f"{r.name}: {r.getMessage()}" for r in self.found]


async def test_item7_navigation_and_hangup_are_no_errors(chromium, world):
    from .helpers import toast
    _, _, emails, embed = await team(world, "Quiet Cars")
    with _Records() as server:
        actx, agent = await agent_console(chromium, world, emails[0])
        errors = []
        agent.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        agent.on("console", lambda m: errors.append(f"console: {m.text} {m.location}") if m.type == "error" else None)
        for path in ("/admin/", "/admin/console", "/admin/followup", "/admin/calls", "/admin/"):
            await agent.goto(world.base + path)
            await agent.wait_for_selector("#presence[data-state=online]", timeout=10000)
        cctx, _, frame = await _customer(chromium, world, embed)
        call_id = await toast(agent)
        await agent.click(f".toast[data-call-id='{call_id}'] .accept")
        await agent.wait_for_url(f"**/admin/call/{call_id}")
        await frame.wait_for_selector("#v-call:not([hidden])", timeout=15000)
        await agent.click("#hangup")
        await agent.wait_for_selector("#summary:not([hidden])")
        await agent.wait_for_timeout(500)
        await agent.goto(world.base + "/admin/")
        await agent.wait_for_selector("#presence[data-state=online]", timeout=10000)
        await cctx.close()
        # hanging up at once, while joining and publishing are still under way
        cctx, _, frame = await _customer(chromium, world, embed)
        call_id = await toast(agent)
        await agent.click(f".toast[data-call-id='{call_id}'] .accept")
        await agent.wait_for_url(f"**/admin/call/{call_id}")
        await agent.click("#hangup")
        await agent.wait_for_selector("#summary:not([hidden])")
        await agent.wait_for_timeout(1000)
        await cctx.close()
        await actx.close()
        await asyncio.sleep(0.5)   # the server sees the sockets close
    assert not errors, errors
    assert not server.texts(), server.texts()


async def test_item8_unknown_button_message_close_escape_focus(chromium, world):
    from .helpers import call_frame, click_call
    ctx = await chromium.new_context()
    host = await ctx.new_page()
    await host.goto(f"{world.host}/?embed=no-such-button")
    await host.focus("#btn-cwbbb-osr")
    await click_call(host)
    frame = await call_frame(host)
    await frame.wait_for_selector("#v-end:not([hidden])")

    async def unknown():
        await only_panel(frame, "v-end")
        assert await frame.text_content("#end-title") == "This call button is not available"
        assert "no longer valid" not in await frame.text_content("#v-end")
        await fully_in_view(host, host, ".cwbbb-close")
        await fully_in_view(host, host, ".cwbbb-frame")
    await at_sizes(host, "item8-unknown-button", unknown)
    # Tab stays inside the dialog: close button <-> frame
    await host.focus(".cwbbb-close")
    for _ in range(4):
        await host.keyboard.press("Tab")
        await wait_true(host, "document.querySelector('.cwbbb-overlay').contains(document.activeElement)",
                                     timeout=2000)
    # Esc closes it and gives the focus back to the call button
    await host.focus(".cwbbb-close")
    await host.keyboard.press("Escape")
    assert await host.locator(".cwbbb-overlay").count() == 0
    assert await host.evaluate("document.activeElement.id") == "btn-cwbbb-osr"
    while any("/call?" in f.url for f in host.frames):
        await asyncio.sleep(0.05)
    # the close button closes it too; Esc inside the frame (no call running) as well
    await click_call(host)
    await host.click(".cwbbb-close")
    assert await host.locator(".cwbbb-overlay").count() == 0
    while any("/call?" in f.url for f in host.frames):   # the removed frame is detached
        await asyncio.sleep(0.05)
    await click_call(host)
    frame = await call_frame(host)
    await frame.wait_for_selector("#v-end:not([hidden])")
    await frame.locator("body").press("Escape")
    await host.wait_for_selector(".cwbbb-overlay", state="detached", timeout=3000)
    await ctx.close()


async def test_item14_copy_button_copies_the_snippet(chromium, world):
    ctx, page = await tenant_admin(chromium, world, "Copy Cars")
    await ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=world.base)
    await page.goto(world.base + "/admin/flows")
    await page.click("button.copy")
    await page.wait_for_selector(".copy-note:text('Copied')")
    copied = await page.evaluate("navigator.clipboard.readText()")
    assert copied == await page.input_value("textarea.snippet")
    assert 'data-cwbbb-gdpr="1"' in copied and "/embed.js" in copied
    await ctx.close()


async def test_item16_chart_labels_inside_axis_values_empty_state(chromium, world):
    from datetime import datetime, timedelta, timezone

    from backoffice.calls_seed import call_row, insert
    busy, _, _, _ = await team(world, "Chart Cars")
    quiet, _, _, _ = await team(world, "Quiet Chart Cars")
    hour = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    await insert(world.db, [call_row(busy, hour + timedelta(minutes=10 + i), duration=60) for i in range(7)])
    await make_user(world.db, tenant_id=busy, role="admin", email="admin.chart@example.com")
    await make_user(world.db, tenant_id=quiet, role="admin", email="admin.quiet@example.com")
    ctx, page = await logged_in(chromium, world, "admin.chart@example.com")

    async def readable():
        svg = await page.locator("#calls-chart").bounding_box()
        for text in await page.locator("#calls-chart text").all():
            box = await text.bounding_box()
            assert box["x"] >= svg["x"] - 0.5 and box["x"] + box["width"] <= svg["x"] + svg["width"] + 0.5, \
                (await text.text_content(), box, svg)
        assert len(await page.locator("#calls-chart .x-label").all()) == 8          # every 6 hours
        assert [await t.text_content() for t in await page.locator("#calls-chart .y-value").all()] == \
            ["0", "2", "4", "6", "8"]
        assert [await t.text_content() for t in await page.locator("#calls-chart .bar-value").all()] == ["7"]
        await fully_in_view(page, page, "#tile-calls-today")
    await at_sizes(page, "item16-chart", readable)
    await ctx.close()
    ctx, page = await logged_in(chromium, world, "admin.quiet@example.com")

    async def empty():
        assert await page.locator("#chart-empty").is_visible()
        assert await page.text_content("#chart-empty") == "No calls in the last 48 hours"
    await at_sizes(page, "item16-chart-empty", empty)
    await ctx.close()


def _overlap(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


async def test_item18_menu_inline_when_wide_toast_covers_no_tile(chromium, world):
    from .helpers import toast
    tenant, _, emails, embed = await team(world, "Menu Cars")
    ctx, page = await agent_console(chromium, world, emails[0])
    await page.goto(world.base + "/admin/")
    await page.wait_for_selector("#presence[data-state=online]")
    cctx, _, _ = await _customer(chromium, world, embed)
    call_id = await toast(page)

    async def layout():
        width = page.viewport_size["width"]
        calls_link = page.locator("nav.menu .menu-list a[href='/admin/calls']")
        if width >= 1000:       # one click: the links are in the header
            assert not await page.locator(".menu-button").is_visible()
            assert await calls_link.is_visible()
            await fully_in_view(page, page, "nav.menu .menu-list a[href='/admin/calls']")
        else:                   # the hamburger opens the list
            assert await page.locator(".menu-button").is_visible()
            assert not await calls_link.is_visible()
            await page.click(".menu-button")
            assert await calls_link.is_visible()
            await page.mouse.click(5, page.viewport_size["height"] - 5)
            await page.locator("body").evaluate("() => document.activeElement.blur()")
        box = await page.locator(f".toast[data-call-id='{call_id}']").bounding_box()
        for tile in await page.locator(".tile").all():
            assert not _overlap(box, await tile.bounding_box()), "the ringing toast covers a tile"
        await fully_in_view(page, page, f".toast[data-call-id='{call_id}'] .accept")
    await at_sizes(page, "item18-menu-and-toast", layout)
    await cctx.close()
    await ctx.close()


async def test_item17_wizard_highlights_the_current_step(chromium, world):
    ctx, page = await tenant_admin(chromium, world, "Wizard Cars")
    await page.goto(world.base + "/admin/flows/new")
    steps = page.locator(".wizard-steps li")
    colours = [await s.evaluate("e => getComputedStyle(e).backgroundColor") for s in await steps.all()]
    current = await page.locator(".wizard-steps li[aria-current=step]").evaluate("e => getComputedStyle(e).backgroundColor")
    assert colours.count(current) == 1 and colours[0] == current, colours
    await ctx.close()
