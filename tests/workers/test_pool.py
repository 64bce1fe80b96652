"""Rooms in media worker processes (server.media_workers): real worker
processes, real aiortc participants through the WebSocket protocol."""

from __future__ import annotations

import asyncio
import json
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
from vidzzle_media.signalling.rooms import MAX_MOVES
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


async def call(http, directory, room_id: str, tokens: tuple[str, str] | None = None) -> tuple[WsPeer, WsPeer]:
    """An agent and a customer in the room, both publishing and receiving each other
    (with ``tokens``: those of an earlier join, as a client's re-join)."""
    agent_token, customer_token = tokens or (directory.issue_token(room_id, "agent", "Anna"),
                                             directory.issue_token(room_id, "customer", "Carl"))
    agent = WsPeer(await http.ws_connect("/ws/room"), Client())
    customer = WsPeer(await http.ws_connect("/ws/room"), Client(width=640, height=360))
    agent.token, customer.token = agent_token, customer_token
    await agent.join(agent_token)
    await customer.join(customer_token)
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


async def test_a_killed_worker_s_rooms_move_and_their_clients_join_again(pool_app, tmp_path):
    http, directory, pool = pool_app
    pdf = make_pdf(tmp_path / "p.pdf", [(1, 0, 0), (0, 0, 1)])
    room_id = await directory.create_room([Document("d1", "Deck", pdf)], call="c1")
    agent, customer = await call(http, directory, room_id)
    await agent.send({"type": "presentation", "command": "next"})
    assert (await customer.expect("presentation_state"))["page"] == 2
    moved, closed = [], []
    directory.on("room_moved", moved.append)
    directory.on("room_closed", closed.append)
    try:
        dead = next(w for w in pool.workers if room_id in w.rooms)
        os.kill(dead.process.pid, signal.SIGKILL)
        # both are told to join again, and their sockets close
        assert (await agent.expect("rejoin"))["reason"] == "worker_lost"
        assert (await customer.expect("rejoin"))["reason"] == "worker_lost"
        await asyncio.wait_for(asyncio.gather(agent.closed.wait(), customer.closed.wait()), 5)
        await wait_for(lambda: moved, timeout=5)
        assert [(e.room_id, e.reason, e.participants) for e in moved] == [(room_id, "worker_lost", 2)]
        assert not closed and room_id in directory.rooms
        survivor = next(w for w in pool.workers if w is not dead)
        assert room_id in survivor.rooms                      # on the worker that is still up
    finally:
        await agent.close()
        await customer.close()
    # the same tokens join the same room again: media both ways, the page kept
    agent, customer = await call(http, directory, room_id, (agent.token, customer.token))
    try:
        assert (await customer.expect("joined"))["presentation"]["page"] == 2
        await wait_for(lambda: all(len(p.client.video_received()) == 2 for p in (agent, customer)), timeout=15)
        assert directory.rooms[room_id].app_data == {"call": "c1"}
        await wait_for(lambda: len(pool.workers) == 2 and dead not in pool.workers, timeout=10)
    finally:
        await agent.close()
        await customer.close()


async def test_a_room_that_keeps_losing_its_worker_is_closed(pool_app):
    """A room whose media died MAX_MOVES times is closed (worker_lost) instead
    of taking a third worker's calls with it."""
    http, directory, pool = pool_app
    room_id = await directory.create_room()
    moved, closed = [], []
    directory.on("room_moved", moved.append)
    directory.on("room_closed", closed.append)
    for kill in range(MAX_MOVES + 1):
        await wait_for(lambda: len(pool.workers) == 2 and any(room_id in w.rooms for w in pool.workers), timeout=10)
        host = next(w for w in pool.workers if room_id in w.rooms)
        agent = WsPeer(await http.ws_connect("/ws/room"))
        await agent.join(directory.issue_token(room_id, "agent", "Anna"))
        os.kill(host.process.pid, signal.SIGKILL)
        last = kill == MAX_MOVES
        message = await agent.expect("room_closed" if last else "rejoin")
        assert message["reason"] == "worker_lost"
        await agent.close()
    await wait_for(lambda: closed, timeout=5)
    assert len(moved) == MAX_MOVES and [(c.room_id, c.reason) for c in closed] == [(room_id, "worker_lost")]
    assert room_id not in directory.rooms
    await wait_for(lambda: len(pool.workers) == 2, timeout=10)


async def test_a_worker_s_log_lines_say_which_worker(capfd, tmp_path):
    """The workers log to the server's stderr: each line names its worker."""
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4 not really")
    pool = WorkerPool(1, IcePolicy(DefaultIce()), log_level="INFO", log_json=True)
    await pool.start()
    try:
        room, presentation = await pool.create_room([Document("d1", "Deck", str(broken))], {})
        assert presentation is None                    # the worker logged why
        await room.close()
    finally:
        await pool.close()
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    unavailable = [e for e in lines if "presentation unavailable" in e["message"]]
    assert unavailable and unavailable[0]["process"] == "media-worker 1"
