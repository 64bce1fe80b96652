"""Rooms in media worker processes (server.media_workers): real worker
processes, real aiortc participants through the WebSocket protocol."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from aiohttp import web
from sfu.peers import Client, wait_for
from sfu.test_presentation import make_pdf
from signalling.wspeer import WsPeer

from vidzzle_media import signalling
from vidzzle_media.sfu import DefaultIce, IcePolicy, aiortc_glue
from vidzzle_media.signalling import Document
from vidzzle_media.workers.pool import WorkerPool


@pytest.fixture
async def pool_app(aiohttp_client):
    ice = IcePolicy(DefaultIce())
    pool = WorkerPool(2, ice)
    directory = signalling.RoomDirectory(ice, media=pool)
    app = web.Application()
    signalling.setup(app, directory)
    http = await aiohttp_client(app)          # its startup starts the workers
    yield http, directory, pool
    await directory.close_all()
    await http.close()
    aiortc_glue.set_host_addresses(None)


async def call(http, directory, room_id: str) -> tuple[WsPeer, WsPeer]:
    """An agent and a customer in the room, both publishing and receiving each other."""
    agent = WsPeer(await http.ws_connect("/ws/room"), Client())
    customer = WsPeer(await http.ws_connect("/ws/room"), Client(width=640, height=360))
    await agent.join(directory.issue_token(room_id, "agent", "Anna"))
    await customer.join(directory.issue_token(room_id, "customer", "Carl"))
    await agent.publish()
    await customer.publish()
    await wait_for(lambda: all(sum(r.frames > 5 for r in p.client.received) >= 2 for p in (agent, customer)),
                   timeout=15)
    return agent, customer


async def test_a_call_in_a_worker_process(pool_app, tmp_path):
    http, directory, pool = pool_app
    assert len({w.process.pid for w in pool.workers} | {os.getpid()}) == 3
    pdf = make_pdf(tmp_path / "p.pdf", [(1, 0, 0), (0, 0, 1)])
    room_id = await directory.create_room([Document("d1", "Deck", pdf)])
    other = await directory.create_room()
    assert sorted(len(w.rooms) for w in pool.workers) == [1, 1]      # each on the least-loaded worker
    agent, customer = await call(http, directory, room_id)
    try:
        # the presentation is rendered in the worker and reaches both
        await wait_for(lambda: all(len(p.client.video_received()) == 2 and all(r.sizes for r in p.client.video_received())
                                   for p in (agent, customer)), timeout=15)
        assert {(1280, 720)} in [r.sizes for r in customer.client.video_received()]
        await agent.send({"type": "presentation", "command": "next"})
        assert (await customer.expect("presentation_state"))["page"] == 2
        # what the worker reports is answered in the main process
        await customer.send({"type": "ping", "id": "p1"})
        assert (await customer.expect("pong"))["receiving"] is True
        assert directory.media_arriving(room_id, "customer")
        await customer.send({"type": "mute", "kind": "audio", "muted": True})
        assert (await agent.expect("mute"))["muted"] is True
        await wait_for(lambda: directory.stats().packets > 200, timeout=5)
        assert not agent.of_type("error") and not customer.of_type("error")

        await customer.send({"type": "leave"})
        await agent.expect("participant_left")
        await agent.expect("track_removed", count=2)
        await directory.close_room(room_id, "ended")
        assert (await agent.expect("room_closed"))["reason"] == "ended"
        await wait_for(lambda: sorted(len(w.rooms) for w in pool.workers) == [0, 1])
        await wait_for(lambda: sorted(w.status.rooms for w in pool.workers if w.status) == [0, 1], timeout=5)
    finally:
        await agent.close()
        await customer.close()
        await directory.close_room(other)


async def test_a_killed_worker_ends_its_calls_and_is_replaced(pool_app):
    http, directory, pool = pool_app
    room_id = await directory.create_room()
    agent, customer = await call(http, directory, room_id)
    closed = []
    directory.on("room_closed", closed.append)
    try:
        dead = next(w for w in pool.workers if room_id in w.rooms)
        os.kill(dead.process.pid, signal.SIGKILL)
        assert (await agent.expect("room_closed"))["reason"] == "worker_lost"
        assert (await customer.expect("room_closed"))["reason"] == "worker_lost"
        await wait_for(lambda: closed, timeout=5)       # emitted once the clients are told
        assert [(c.room_id, c.reason) for c in closed] == [(room_id, "worker_lost")]
        assert room_id not in directory.rooms
        await wait_for(lambda: len(pool.workers) == 2 and dead not in pool.workers, timeout=10)
    finally:
        await agent.close()
        await customer.close()
    # calls go on in a new room, on the new worker as on the old one
    again = await directory.create_room()
    agent, customer = await call(http, directory, again)
    await agent.close()
    await customer.close()
    await asyncio.sleep(0)
