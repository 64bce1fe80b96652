"""Incoming calls from the dealer's page, in real Chromium (scenarios a, b, c, d, f, g)
plus the latency measurement (click -> ringing, accept -> first frame)."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from .conftest import CHROMIUM, FLAGS
from .helpers import (
    _frames,
    agent_console,
    call_frame,
    click_call,
    logged_in,
    media,
    team,
    toast,
    wait_media,
    wait_true,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

QUALITY_SHOWN = "['good','fair','poor'].includes(document.getElementById('quality').dataset.level)"


async def customer_page(browser, world, embed: str, **query):
    context = await browser.new_context()
    page = await context.new_page()
    qs = "&".join(f"{k}={v}" for k, v in {"embed": embed, **query}.items())
    await page.goto(f"{world.host}/?{qs}")
    return context, page


async def one_call(chromium, world, embed, email, *, check_presentation=False):
    """Click -> ring -> accept -> media both ways. Returns timings and pages."""
    agent_ctx, agent = await agent_console(chromium, world, email)
    cust_ctx, host = await customer_page(chromium, world, embed, name="Erika")
    clicked = await click_call(host)
    call_id = await toast(agent)
    rang = await agent.evaluate("(id) => window.vidzzleAgent.ringAt[id]", call_id)
    text = await agent.text_content(f".toast[data-call-id='{call_id}']")
    assert "Erika" in text and "Sales" in text
    frame = await call_frame(host)
    await frame.wait_for_selector("#v-wait:not([hidden])")
    await agent.click(f".toast[data-call-id='{call_id}'] .accept")
    await agent.wait_for_url(f"**/admin/call/{call_id}")
    await wait_media(agent, video=("camera",))
    await frame.wait_for_selector("#v-call:not([hidden])", timeout=10000)
    await wait_media(frame, video=("camera", "presentation") if check_presentation else ("camera",))
    accept_at = await agent.evaluate("window.vidzzle.acceptAt")
    for _ in range(100):
        a_first = await agent.evaluate("window.vidzzle.times.firstFrame")
        c_first = await frame.evaluate("window.vidzzle.times.firstFrame")
        if a_first and c_first:
            break
        await asyncio.sleep(0.05)
    timings = {"click_to_ringing_ms": rang - clicked, "accept_to_agent_frame_ms": a_first - accept_at,
               "accept_to_customer_frame_ms": c_first - accept_at}
    return timings, (agent_ctx, agent), (cust_ctx, host, frame)


async def test_a_embed_call_accept_media_presentation_hangup(chromium, world):
    _, _, emails, embed = await team(world, "Alpha Cars", presentation=True)
    timings, (actx, agent), (cctx, host, frame) = await one_call(chromium, world, embed, emails[0],
                                                                 check_presentation=True)
    # the agent pages the presentation; the customer decodes the new page
    await agent.wait_for_selector("#presentation-box:not([hidden])")
    assert (await agent.text_content("#pres-page")).strip() == "1 / 3"
    before = _frames(await media(frame), "presentation")
    await agent.click("#pres-next")
    await wait_true(agent, "document.getElementById('pres-page').textContent.trim() === '2 / 3'")
    for _ in range(50):
        if _frames(await media(frame), "presentation") > before:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the customer did not decode the next presentation page")
    # the quality indicator shows a level from getStats on both sides
    for side in (frame, agent):
        await wait_true(side, QUALITY_SHOWN, timeout=8000)
        assert (await side.text_content("#quality")).strip().endswith("connection")
    # hang up -> summary for the agent, exit URL for the customer
    await agent.click("#hangup")
    await agent.wait_for_selector("#summary:not([hidden])")
    await wait_true(agent, "/\\d+ min \\d+ s/.test(document.getElementById('summary-duration').textContent)")
    await host.wait_for_url(world.land("exit"), timeout=10000)
    await actx.close()
    await cctx.close()


async def test_b_nobody_accepts_escalation(chromium, world):
    _, _, emails, embed = await team(world, "Bravo Cars", ring=(1, 1))
    actx, agent = await agent_console(chromium, world, emails[0])
    cctx, host = await customer_page(chromium, world, embed)
    await click_call(host)
    call_id = await toast(agent)
    frame = await call_frame(host)
    await frame.wait_for_selector("#v-wait:not([hidden])")
    await host.wait_for_url(world.land("sorry"), timeout=15000)
    await agent.wait_for_selector(f".toast[data-call-id='{call_id}']", state="detached", timeout=5000)
    await actx.close()
    await cctx.close()


async def test_c_out_of_hours_redirect_without_ringing(chromium, world):
    _, _, emails, embed = await team(world, "Charlie Cars", open_=False)
    actx, agent = await agent_console(chromium, world, emails[0])
    cctx, host = await customer_page(chromium, world, embed)
    await click_call(host)
    await host.wait_for_url(world.land("closed"), timeout=10000)
    await asyncio.sleep(0.5)
    assert await agent.query_selector(".toast") is None
    assert not [m for m in await agent.evaluate("window.vidzzleAgent.messages") if m["type"] == "ringing"]
    await actx.close()
    await cctx.close()


async def test_c_closed_day_redirects_and_the_calls_list_says_why(chromium, world):
    today = datetime.now(ZoneInfo("Europe/Berlin")).date()          # the tenant's day
    _, _, emails, embed = await team(world, "Charlie Closed", exceptions=f"{today.isoformat()} closed")
    actx, agent = await agent_console(chromium, world, emails[0])
    cctx, host = await customer_page(chromium, world, embed)
    await click_call(host)
    await host.wait_for_url(world.land("closed"), timeout=10000)
    assert await agent.query_selector(".toast") is None
    await agent.goto(world.base + "/admin/calls")
    row = agent.locator("#calls-table tbody tr").first
    assert "Closed: holiday" in await row.inner_text()
    await actx.close()
    await cctx.close()


async def test_c_callback_instead_of_a_lost_lead_then_a_video_call_back(chromium, world):
    _, _, emails, embed = await team(world, "Charlie Callback", open_=False, offer_callback="1")
    cctx, host = await customer_page(chromium, world, embed)
    await click_call(host)
    frame = await call_frame(host)
    await frame.wait_for_selector("#v-callback:not([hidden])", timeout=10000)
    assert await frame.text_content("#callback-title") == "We are closed right now"
    await frame.fill("#cb-name", "Clara Kunde")
    await frame.click("#callback-send")                                   # no phone, no email: said so
    await frame.wait_for_selector("#cb-phone-error:has-text('phone number or an email')", timeout=5000)
    await frame.fill("#cb-phone", "+49 89 7654321")
    await frame.fill("#cb-preferred", "heute nach 17 Uhr")
    await frame.click("#callback-send")
    await frame.wait_for_selector("#v-end:not([hidden])", timeout=5000)
    assert await frame.text_content("#end-title") == "Thank you"
    assert host.url.startswith(world.host)                                # not sent away

    actx, agent = await logged_in(chromium, world, emails[0])
    await agent.goto(world.base + "/admin/")
    assert await agent.text_content("#tile-callbacks") == "1"
    await agent.click("#tile-callbacks")
    row = agent.locator("#callbacks-table tbody tr").first
    assert "Clara Kunde" in await row.inner_text() and "heute nach 17 Uhr" in await row.inner_text()
    await row.locator(".call-back").click()
    await agent.wait_for_url("**/admin/call/**", timeout=10000)           # in the follow-up call
    await agent.goto(world.base + "/admin/callbacks?state=done")
    assert "Clara Kunde" in await agent.locator("#callbacks-table tbody").inner_text()
    await actx.close()
    await cctx.close()


async def test_d_gdpr_consent_once_then_remembered(chromium, world):
    _, _, _, embed = await team(world, "Delta Cars", ring=(30,))
    cctx, host = await customer_page(chromium, world, embed, gdpr="1")
    await click_call(host)
    await host.wait_for_selector(".cwbbb-gdpr", timeout=5000)
    await wait_true(host, "document.querySelector('.cwbbb-gdpr div').textContent.length > 20")
    assert not [f for f in host.frames if "/call?" in f.url]          # no call before consent
    await host.click(".cwbbb-accept")
    frame = await call_frame(host)
    await frame.wait_for_selector("#v-wait:not([hidden])")
    await frame.wait_for_selector("#waiting-for:not([hidden])", timeout=5000)     # who the customer waits for
    assert await frame.text_content("#waiting-for-text") == "You are waiting for Delta Cars · Team"
    assert await frame.is_hidden("#estimate") and await frame.is_hidden("#queue")   # no history, nobody else
    cookies = {c["name"]: c for c in await cctx.cookies(world.host)}
    cookie = cookies[f"cwbbb_gdpr_{embed}"]
    assert 13.9 * 86400 < cookie["expires"] - time.time() <= 14 * 86400 + 5
    await frame.click("#cancel")
    await host.wait_for_selector(".cwbbb-overlay", state="detached", timeout=5000)
    # second click: straight to the call, no notice
    await host.reload()
    await click_call(host)
    frame = await call_frame(host)
    await frame.wait_for_selector("#v-wait:not([hidden])")
    assert await host.query_selector(".cwbbb-gdpr") is None
    await frame.click("#cancel")
    await cctx.close()


async def two_agents_rung(chromium, world, name: str):
    """Two agents' consoles and a customer whose call shows a toast at both:
    (embed id, (context, page) of each agent and of the customer, call id)."""
    _, _, emails, embed = await team(world, name, agents=2)
    a = await agent_console(chromium, world, emails[0])
    b = await agent_console(chromium, world, emails[1])
    customer = await customer_page(chromium, world, embed)
    await click_call(customer[1])
    call_id = await toast(a[1])
    assert await toast(b[1]) == call_id
    return embed, a, b, customer, call_id


async def test_f_two_agents_rung_one_accepts_other_toast_disappears(chromium, world):
    embed, (a_ctx, a), (b_ctx, b), (cctx, host), call_id = await two_agents_rung(chromium, world, "Foxtrot Cars")
    assert await b.evaluate("window.vidzzleAgent.isRinging()")
    await a.click(f".toast[data-call-id='{call_id}'] .accept")
    await b.wait_for_selector(f".toast[data-call-id='{call_id}'].gone", timeout=2000)
    assert "Taken by Agent 0" in await b.text_content(f".toast[data-call-id='{call_id}']")
    assert not await b.evaluate("window.vidzzleAgent.isRinging()")
    await b.wait_for_selector(f".toast[data-call-id='{call_id}']", state="detached", timeout=5000)
    await a.wait_for_url(f"**/admin/call/{call_id}")
    frame = await call_frame(host)
    await frame.wait_for_selector("#v-call:not([hidden])", timeout=10000)
    await frame.click("#hangup")
    await host.wait_for_url(world.land("exit"), timeout=10000)
    await a.wait_for_selector("#summary:not([hidden])")
    for ctx in (a_ctx, b_ctx, cctx):
        await ctx.close()


async def test_h_decline_then_busy_agent_is_not_rung(chromium, world):
    """Agent 0 declines: their toast says so and goes, agent 1's keeps ringing
    and accepts. A second customer then rings agent 0 only: agent 1 is busy."""
    embed, (a_ctx, a), (b_ctx, b), (cctx, host), call_id = await two_agents_rung(chromium, world, "Hotel Cars")
    await a.click(f".toast[data-call-id='{call_id}'] .decline")
    await a.wait_for_selector(f".toast[data-call-id='{call_id}'].gone", timeout=2000)
    assert "You declined this call" in await a.text_content(f".toast[data-call-id='{call_id}']")
    assert not await a.evaluate("window.vidzzleAgent.isRinging()")
    assert await b.is_visible(f".toast[data-call-id='{call_id}'] .accept")     # still ringing for agent 1
    assert await b.evaluate("window.vidzzleAgent.isRinging()")
    await b.click(f".toast[data-call-id='{call_id}'] .accept")
    await b.wait_for_url(f"**/admin/call/{call_id}")
    b_console = await b_ctx.new_page()                    # agent 1 also has the console open in another tab:
    await b_console.goto(world.base + "/admin/console")   # online, but busy in a call
    await b_console.wait_for_selector("#presence[data-state=online]", timeout=10000)

    c2ctx, host2 = await customer_page(chromium, world, embed)
    await click_call(host2)
    second = await toast(a)
    assert second != call_id
    await a.wait_for_timeout(500)                          # a push to agent 1 would have arrived by now
    assert await b_console.locator(".toast").count() == 0
    await a.click(f".toast[data-call-id='{second}'] .accept")
    await a.wait_for_url(f"**/admin/call/{second}")
    for ctx in (a_ctx, b_ctx, cctx, c2ctx):
        await ctx.close()


async def test_g_camera_denied_message_then_audio_only(pw, chromium, world):
    _, _, emails, embed = await team(world, "Golf Cars")
    actx, agent = await agent_console(chromium, world, emails[0])
    # a Chromium without the auto-accept flag: the camera is denied, the microphone granted
    flags = [f for f in FLAGS if f != "--use-fake-ui-for-media-stream"]
    strict = await pw.chromium.launch(executable_path=CHROMIUM, args=flags)
    try:
        cctx = await strict.new_context()
        await cctx.grant_permissions(["microphone"], origin=world.host)
        await cctx.grant_permissions(["microphone"], origin=world.base)
        host = await cctx.new_page()
        await host.goto(f"{world.host}/?embed={embed}")
        await click_call(host)
        frame = await call_frame(host)
        await frame.wait_for_selector("#media-error:not([hidden])", timeout=10000)
        message = await frame.text_content("#media-error-text")
        assert "blocked" in message and "audio only" in message
        await frame.click("#audio-only")
        await frame.wait_for_selector("#media-error", state="hidden")
        call_id = await toast(agent)
        await agent.click(f".toast[data-call-id='{call_id}'] .accept")
        await agent.wait_for_url(f"**/admin/call/{call_id}")
        await frame.wait_for_selector("#v-call:not([hidden])", timeout=10000)
        await wait_media(frame, video=("camera",))          # the customer sees and hears the agent
        await wait_media(agent, video=())                    # the agent hears the customer
        assert await frame.is_disabled("#camera")
        await agent.click("#hangup")
        await host.wait_for_url(world.land("exit"), timeout=10000)
    finally:
        await strict.close()
        await actx.close()


async def test_g2_blocked_camera_and_microphone_never_ring_and_the_record_says_why(pw, chromium, world):
    _, _, emails, embed = await team(world, "Golf Blocked")
    actx, agent = await agent_console(chromium, world, emails[0])
    flags = [f for f in FLAGS if f != "--use-fake-ui-for-media-stream"]      # no permission is granted
    strict = await pw.chromium.launch(executable_path=CHROMIUM, args=flags)
    try:
        cctx = await strict.new_context()
        host = await cctx.new_page()
        await host.goto(f"{world.host}/?embed={embed}")
        await click_call(host)
        frame = await call_frame(host)
        await frame.wait_for_selector("#media-error:not([hidden])", timeout=10000)
        assert "blocked" in await frame.text_content("#media-error-text")
        assert "Checking your camera" in await frame.text_content("#wait-title")
        await frame.click("#audio-only")                     # the microphone is blocked too: still the message
        await frame.wait_for_selector("#media-error:not([hidden])", timeout=10000)
        await asyncio.sleep(1)
        assert not [m for m in await agent.evaluate("window.vidzzleAgent.messages") if m["type"] == "ringing"]
        await frame.click("#cancel")
        await host.wait_for_selector(".cwbbb-overlay", state="detached", timeout=5000)
        await agent.goto(world.base + "/admin/calls")
        row = agent.locator("#calls-table tbody tr").first
        assert "camera, microphone or network failed (access blocked)" in await row.inner_text()
    finally:
        await strict.close()
        await actx.close()


async def test_latency_median_of_5(chromium, world):
    """click -> agent ringing, accept -> first remote frame at agent and customer."""
    _, _, emails, embed = await team(world, "Latency Cars")
    runs = []
    for _ in range(5):
        timings, (actx, agent), (cctx, host, frame) = await one_call(chromium, world, embed, emails[0])
        runs.append(timings)
        await agent.click("#hangup")
        await host.wait_for_url(world.land("exit"), timeout=10000)
        await actx.close()
        await cctx.close()
    summary = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    out = os.environ.get("VIDZZLE_E2E_LATENCY_JSON")   # set by bench/e2e_latency.py; a test run writes nothing
    if out:
        Path(out).write_text(json.dumps({"runs": runs, "median": summary}, indent=2))
    print("latency median:", summary)
    assert summary["click_to_ringing_ms"] <= 1000      # target 300 ms; loose here, recorded in docs/benchmarks.md
    assert summary["accept_to_agent_frame_ms"] <= 5000
    assert summary["accept_to_customer_frame_ms"] <= 5000
