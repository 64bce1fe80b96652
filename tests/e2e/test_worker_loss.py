"""A media worker dies mid-call (server.media_workers = 2), in real
Chromium: the customer's and the agent's pages join the room again on their
own (it moved to the other worker), media flows both ways again, the
presentation stays on its page, and the call's record says it was
interrupted; the call goes on and ends by hang-up as any other."""

from __future__ import annotations

import json
import os
import signal

import pytest
import pytest_asyncio

from vidzzle_media import keys
from vidzzle_media.store import calls as call_store

from .conftest import running_world
from .helpers import _frames, media, team, wait_media, wait_true
from .test_incoming import one_call
from .test_rejoin import frames_grow

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

WATCH = """() => {
  const c = window.vidzzle.client;
  window.__moved = { pc: c.subscribePc, rejoin: null, rejoined: 0 };
  c.addEventListener("rejoin", ({ detail }) => { window.__moved.rejoin = detail.reason; });
  c.addEventListener("reconnected", () => { window.__moved.rejoined += 1; });
}"""
REJOINED = """() => { const c = window.vidzzle.client; return window.__moved.rejoined > 0
  && c.subscribePc && c.subscribePc !== window.__moved.pc && c.ws.readyState === WebSocket.OPEN; }"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory, smtp_server):
    async with running_world(tmp_path_factory.mktemp("e2e-workers"), smtp_server,
                             **{"server.media_workers": 2}) as w:
        yield w


async def test_pages_rejoin_on_their_own_when_the_media_worker_dies(chromium, world):
    tenant, _, emails, embed = await team(world, "Worker Cars", presentation=True)
    _, (actx, agent), (cctx, host, frame) = await one_call(chromium, world, embed, emails[0],
                                                           check_presentation=True)
    call_id = agent.url.rsplit("/", 1)[-1]
    room_id = (await call_store.get_call(world.db, call_id)).room_id
    pool = world.app[keys.ROOMS].media
    dead = next(w for w in pool.workers if room_id in w.rooms)
    await agent.click("#pres-next")
    await wait_true(agent, "document.getElementById('pres-page').textContent.trim() === '2 / 3'")
    await frame.click("#mute")                       # the customer's microphone is off before the loss...
    await agent.evaluate(WATCH)
    await frame.evaluate(WATCH)

    os.kill(dead.process.pid, signal.SIGKILL)

    for page in (frame, agent):
        await wait_true(page, REJOINED, timeout=20000)
        assert await page.evaluate("window.__moved.rejoin") == "worker_lost"
    # what both see: the call view, media both ways again, the note gone
    assert await frame.is_visible("#v-call")
    await wait_media(frame, video=("camera", "presentation"))
    await wait_media(agent, video=("camera",))
    await frames_grow(agent, _frames(await media(agent), "camera"))
    await frames_grow(frame, _frames(await media(frame), "camera"))
    await frame.wait_for_selector("#call-note", state="hidden", timeout=5000)
    await agent.wait_for_selector("#call-note", state="hidden", timeout=5000)
    assert await agent.locator("figure.remote").count() == 1
    assert (await agent.text_content("#pres-page")).strip() == "2 / 3"
    assert not await agent.is_visible("#summary")
    # ...and after it: the page says so and the new room knows it
    assert (await frame.text_content("#mute")).strip() == "Unmute"
    sessions = world.app[keys.ROOMS].rooms[room_id].sessions.values()
    customer = next(s.participant for s in sessions if s.grant.role == "customer")
    assert customer.muted == {"audio": True, "video": False}
    # the room runs on the worker that stayed; the record says what happened
    assert any(room_id in w.rooms for w in pool.workers if w is not dead)
    events = await call_store.list_events(world.db, tenant, call_id)
    assert [json.loads(p) for t, p, _ in events if t == "CallInterrupted"] == [
        {"reason": "worker_lost", "state": "accepted"}]
    assert (await call_store.get_call(world.db, call_id)).state == "accepted"

    # still one call: the agent's hang-up lands the customer on the exit URL
    await agent.click("#hangup")
    await host.wait_for_url(world.land("exit"), timeout=10000)
    await actx.close()
    await cctx.close()
