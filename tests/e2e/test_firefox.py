"""Scenario (a) with Firefox ESR as the customer (WebDriver BiDi), Chromium as
the agent; and the other way round: Firefox ESR as the agent in the back
office, Chromium as the customer (both pages get media before connecting:
Firefox gathers no usable ICE candidates before getUserMedia)."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from admin.helpers import PASSWORD

from .firefox import Firefox, available
from .helpers import agent_console, call_frame, click_call, team, toast, wait_media

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

STATS = """async () => { const c = window.vidzzle && window.vidzzle.client; if (!c || !c.subscribePc) return null;
  const s = await c.stats(); return { video: s.inboundVideo.map((x) => ({ frames: x.framesDecoded,
  source: (c.tracks.get(x.mid) || {}).source })), audio: s.inboundAudio.map((x) => x.totalSamplesReceived) }; }"""


def frames(s, source):
    return max([v["frames"] for v in (s or {}).get("video", []) if v["source"] == source] or [0])


async def test_a_firefox_customer(chromium, world):
    if not available():
        if os.environ.get("CI"):
            pytest.fail("firefox-esr missing in CI (scripts/test installs it)")
        pytest.skip("firefox-esr not installed")
    _, _, emails, embed = await team(world, "Firefox Cars", presentation=True)
    actx, agent = await agent_console(chromium, world, emails[0])
    ff = Firefox()
    await ff.start()
    try:
        await ff.navigate(f"{world.host}/?embed={embed}&name=Fiona")
        await ff.call("async () => document.getElementById('btn-cwbbb-osr').click()")
        call_id = await toast(agent, timeout=20)
        frame = await ff.child("/call?")
        await agent.click(f".toast[data-call-id='{call_id}'] .accept")
        await agent.wait_for_url(f"**/admin/call/{call_id}")
        await wait_media(agent, video=("camera",))
        deadline = time.monotonic() + 25
        while True:      # the customer (Firefox) decodes the agent's camera, the presentation, and audio
            s = await ff.call(STATS, frame)
            if frames(s, "camera") > 0 and frames(s, "presentation") > 0 and max((s or {}).get("audio") or [0]) > 0:
                break
            assert time.monotonic() < deadline, f"Firefox media did not flow: {s}"
            await asyncio.sleep(0.3)
        await asyncio.sleep(1.0)
        later = await ff.call(STATS, frame)
        assert frames(later, "camera") > frames(s, "camera") and max(later["audio"]) > max(s["audio"])
        before = frames(later, "presentation")
        await agent.click("#pres-next")
        for _ in range(50):
            if frames(await ff.call(STATS, frame), "presentation") > before:
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError("Firefox did not decode the next presentation page")
        await agent.click("#hangup")
        for _ in range(100):
            if (await ff.url()).startswith(world.land("exit")):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"Firefox not on the exit URL: {await ff.url()}")
    finally:
        await ff.close()
        await actx.close()


async def until(ff: Firefox, script: str, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = await ff.call(script)
        if value:
            return value
        assert time.monotonic() < deadline, f"Firefox agent: {what} ({value})"
        await asyncio.sleep(0.2)


async def test_a_firefox_agent(chromium, world):
    if not available():
        if os.environ.get("CI"):
            pytest.fail("firefox-esr missing in CI (scripts/test installs it)")
        pytest.skip("firefox-esr not installed")
    _, _, emails, embed = await team(world, "Firefox Agents")
    ff = Firefox()
    await ff.start()
    cctx = await chromium.new_context()
    try:
        await ff.navigate(world.base + "/admin/login")
        await ff.call(f"""async () => {{ const f = document.querySelector("input[name=email]").form;
          f.email.value = {emails[0]!r}; f.password.value = {PASSWORD!r};
          setTimeout(() => f.requestSubmit(), 0); return true; }}""")
        await until(ff, "async () => !location.pathname.startsWith('/admin/login')", "login")
        await ff.navigate(world.base + "/admin/console")
        await until(ff, "async () => document.querySelector('#presence[data-state=online]') !== null", "online")
        host = await cctx.new_page()
        await host.goto(f"{world.host}/?embed={embed}&name=Chris")
        await click_call(host)
        frame = await call_frame(host)
        await until(ff, "async () => { const b = document.querySelector('.toast:not(.gone) .accept');"
                        " if (b) b.click(); return !!b; }", "toast")
        await until(ff, "async () => location.pathname.startsWith('/admin/call/')", "call page")
        deadline = time.monotonic() + 25
        while True:      # the agent (Firefox) decodes the customer's camera and audio
            s = await ff.call(STATS)
            if frames(s, "camera") > 0 and max((s or {}).get("audio") or [0]) > 0:
                break
            assert time.monotonic() < deadline, f"Firefox agent media did not flow: {s}"
            await asyncio.sleep(0.3)
        await asyncio.sleep(1.0)
        later = await ff.call(STATS)
        assert frames(later, "camera") > frames(s, "camera") and max(later["audio"]) > max(s["audio"])
        await frame.wait_for_selector("#v-call:not([hidden])", timeout=10000)
        await wait_media(frame, video=("camera",))          # the customer (Chromium) gets the agent
        await ff.call("async () => { document.getElementById('hangup').click(); return true; }")
        await host.wait_for_url(world.land("exit"), timeout=10000)
    finally:
        await ff.close()
        await cctx.close()
