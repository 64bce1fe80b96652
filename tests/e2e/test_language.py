"""German and English in real Chromium (issue 23): a German browser on a
dealer page sees German in the embed's GDPR dialog, the overlay and the
customer page; the German tenant's agent sees a German ring toast and call
view. An English browser on the same dealer page sees English."""

from __future__ import annotations

import pytest

from .helpers import call_frame, click_call, logged_in, team, toast, wait_true

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]


async def test_german_browser_german_tenant(chromium, world):
    _, _, emails, embed = await team(world, "Autohaus Süd", language="de")
    actx, agent = await logged_in(chromium, world, emails[0], locale="de-DE")
    await agent.goto(world.base + "/admin/console")
    await agent.wait_for_selector("#presence[data-state=online]")
    assert await agent.text_content("#presence") == "Online – Du kannst Calls empfangen"
    cctx = await chromium.new_context(locale="de-DE")
    host = await cctx.new_page()
    await host.goto(f"{world.host}/?embed={embed}&name=Erika&gdpr=1")
    await click_call(host)
    await host.wait_for_selector(".cwbbb-gdpr")
    assert await host.text_content(".cwbbb-gdpr h2") == "Datenschutzhinweis"
    assert await host.text_content(".cwbbb-accept") == "Zustimmen und Call starten"
    assert await host.get_attribute(".cwbbb-close", "aria-label") == "Schließen"
    notice = host.locator(".cwbbb-gdpr h2 + div")      # the built-in notice, in German too
    await notice.filter(has_text="Dieser Videoanruf wird über").wait_for()
    await host.click(".cwbbb-accept")
    frame = await call_frame(host)
    await frame.wait_for_selector("#v-wait:not([hidden])")
    await wait_true(frame, "document.documentElement.lang === 'de'")
    # first the pre-ring check, then the ringing
    await wait_true(frame, "document.getElementById('wait-title').textContent.startsWith('Sie werden')", 15000)
    assert await frame.text_content("#wait-title") == "Sie werden mit einem Mitarbeiter verbunden…"
    assert await frame.text_content("#cancel") == "Abbrechen"
    call_id = await toast(agent)
    ringing = agent.locator(f".toast[data-call-id='{call_id}']")
    assert "Eingehender Call: Erika" in await ringing.text_content()
    assert await ringing.locator(".accept").text_content() == "Annehmen"
    await ringing.locator(".accept").click()
    await agent.wait_for_url(f"**/admin/call/{call_id}")
    assert await agent.text_content("#hangup") == "Auflegen"
    await frame.wait_for_selector("#v-call:not([hidden])", timeout=15000)
    assert await frame.text_content("#hangup") == "Auflegen"
    await wait_true(frame, "document.getElementById('quality').textContent.endsWith('Verbindung')",
                                  timeout=10000)
    await agent.click("#hangup")
    await agent.wait_for_selector("#summary:not([hidden])")
    assert await agent.text_content("#summary h2, #summary h1") in ("Call beendet",)
    await cctx.close()
    await actx.close()


async def test_english_browser_same_german_dealer(chromium, world):
    _, _, _, embed = await team(world, "Autohaus West", language="de")
    cctx = await chromium.new_context(locale="en-US")
    host = await cctx.new_page()
    await host.goto(f"{world.host}/?embed={embed}&gdpr=1")
    await click_call(host)
    await host.wait_for_selector(".cwbbb-gdpr")
    assert await host.text_content(".cwbbb-accept") == "Accept and start the call"
    await host.locator(".cwbbb-gdpr h2 + div").filter(has_text="This video call is provided through").wait_for()
    await host.click(".cwbbb-accept")
    frame = await call_frame(host)
    await frame.wait_for_selector("#v-wait:not([hidden])")
    await wait_true(frame, "document.getElementById('wait-title').textContent.startsWith('Connecting')", 15000)
    assert await frame.text_content("#wait-title") == "Connecting you to an agent…"
    await cctx.close()
