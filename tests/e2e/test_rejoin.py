"""Connection feedback (issue 5 item 5) in real Chromium: a dropped
connection during an accepted call is re-joined by the page itself (same
room token, fresh socket and peer connections) and media flows again, for
the customer's drop and for the agent's."""

from __future__ import annotations

import asyncio
import time

import pytest

from .helpers import _frames, media, team, wait_media, wait_true
from .test_incoming import one_call

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

# Drop everything from page JS: the socket and both peer connections of the
# page's RoomClient (window.vidzzle.client), as a network loss would.
DROP = """() => {
  const c = window.vidzzle.client;
  window.__dropped = { pc: c.subscribePc, rejoined: 0 };
  c.addEventListener("reconnected", () => { window.__dropped.rejoined += 1; });
  c.publishPc.close();
  c.subscribePc.close();
  c.ws.close();
}"""
REJOINED = """() => { const c = window.vidzzle.client; return window.__dropped.rejoined > 0
  && c.subscribePc && c.subscribePc !== window.__dropped.pc && c.ws.readyState === WebSocket.OPEN; }"""


async def frames_grow(target, before: int, *, more: int = 10, timeout: float = 20.0) -> int:
    """Camera frames decoded by ``target`` exceed ``before`` by ``more`` (read after the drop)."""
    deadline = time.monotonic() + timeout
    while True:
        now = _frames(await media(target) or {"video": []}, "camera")
        if now >= before + more:
            return now
        assert time.monotonic() < deadline, f"camera frames stuck at {now} (from {before})"
        await asyncio.sleep(0.2)


async def test_dropped_connections_rejoin_and_media_flows_again(chromium, world):
    _, _, emails, embed = await team(world, "Reconnect Cars")
    _, (actx, agent), (cctx, host, frame) = await one_call(chromium, world, embed, emails[0])

    # the customer's connection drops: the page re-joins by itself
    await frame.evaluate(DROP)
    await wait_true(frame, REJOINED, timeout=15000)
    assert await frame.is_visible("#v-call")
    await wait_media(frame, video=("camera",))                     # fresh PC: its counters start at 0
    agent_frames = _frames(await media(agent), "camera")           # the agent's view recovers too
    await frames_grow(agent, agent_frames)
    await agent.wait_for_selector("figure.remote video", timeout=5000)
    await frame.wait_for_selector("#call-note", state="hidden", timeout=5000)

    # the agent's connection drops: the console's call view re-joins too
    await agent.evaluate(DROP)
    await wait_true(agent, REJOINED, timeout=15000)
    await wait_media(agent, video=("camera",))
    customer_frames = _frames(await media(frame), "camera")
    await frames_grow(frame, customer_frames)
    assert await agent.locator("figure.remote").count() == 1       # the old tile is gone
    await agent.wait_for_selector("#call-note", state="hidden", timeout=5000)

    # still one call: hang up lands the customer on the exit URL
    await agent.click("#hangup")
    await host.wait_for_url(world.land("exit"), timeout=10000)
    await actx.close()
    await cctx.close()
