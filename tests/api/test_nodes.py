"""Two nodes (two whole apps, each with its own pool, listener and data
folder) on one PostgreSQL store: an agent online on either node is online on
both, a call started on one rings agents on the other, their decline and
accept reach the call's home node, and a node that falls silent takes its
agents offline with it."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path

import pgstore
import pytest
from admin.helpers import make_tenant
from sfu.peers import Client, wait_for
from signalling.wspeer import WsPeer

from vidzzle_media import keys, nodes
from vidzzle_media.app import create_app
from vidzzle_media.store import calls as call_store

from .conftest import MONDAY_11_BERLIN
from .world import make_agents, make_flow, make_group, online_agent


@pytest.fixture
async def two_nodes(settings, tmp_path, aiohttp_client):
    """Nodes A and B: test clients of two apps sharing one empty database."""
    from vidzzle_media.routing.clock import ManualClock

    url, drop = pgstore.empty_database("nodes_")
    clients = []
    for name in ("a", "b"):
        node_settings = copy.deepcopy(settings)
        node_settings.database.url = url
        node_settings.server.data_dir = str(tmp_path / name)
        app = create_app(node_settings)
        app[keys.CALLS].set_clock(ManualClock(MONDAY_11_BERLIN))
        client = await aiohttp_client(app)
        # the test server does not say its port where serve.py does: the node's URL is set here
        app[keys.NODES].url = lambda client=client: str(client.make_url("/"))
        await app[keys.NODES].announce()
        clients.append(client)
    yield clients
    for client in clients:
        await client.close()
    drop()


async def _until(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "not within time"
        await asyncio.sleep(0.02)


async def _world(a):
    db = a.server.app[keys.DATABASE]
    tenant = await make_tenant(db, "Alpha Cars")
    ids = await make_agents(db, tenant, 2)
    return db, tenant, ids


async def test_an_agent_on_node_b_rings_for_a_call_on_node_a_and_declines_it_there(two_nodes):
    a, b = two_nodes
    db, tenant, ids = await _world(a)
    embed = await make_flow(db, tenant, [(await make_group(db, tenant, "Sales", [ids[0]]), 60),
                                         (await make_group(db, tenant, "Service", [ids[1]]), 60)])
    on_b = await online_agent(b, ids[0], f"agent0.t{tenant}@example.com")       # logged in on B
    on_a = await online_agent(a, ids[1], f"agent1.t{tenant}@example.com")
    presence_a, presence_b = a.server.app[keys.PRESENCE], b.server.app[keys.PRESENCE]
    await _until(lambda: presence_a.online_user_ids(tenant) == set(ids) == presence_b.online_user_ids(tenant))

    body = await (await a.post("/api/calls", json={"embed_id": embed, "name": "Erika"})).json()
    call_id = body["call_id"]
    await a.server.app[keys.CALLS].dispatcher.settle()
    ringing = await on_b.next("ringing")
    assert (ringing["call_id"], ringing["customer_name"], ringing["flow_name"]) == (call_id, "Erika", "Sales")
    assert (await call_store.rings(db, call_id))[ids[0]].can_answer   # rung as online

    # the decline on B reaches A, which rings the next row at once (not after 60 s)
    await on_b.ws.send_json({"type": "decline", "call_id": call_id})
    assert (await on_b.next("result"))["ok"]
    assert (await on_b.next("withdrawn"))["reason"] == "declined"
    assert (await on_a.next("ringing"))["call_id"] == call_id
    assert a.server.app[keys.CALLS].dispatcher.stop(call_id)   # still A's to ring
    for agent in (on_a, on_b):
        await agent.close()


async def test_an_accept_on_node_b_settles_the_call_on_node_a(two_nodes):
    a, b = two_nodes
    db, tenant, ids = await _world(a)
    embed = await make_flow(db, tenant, [(await make_group(db, tenant, "Sales", ids), 60)])
    on_b = await online_agent(b, ids[0], f"agent0.t{tenant}@example.com")
    on_a = await online_agent(a, ids[1], f"agent1.t{tenant}@example.com")
    await _until(lambda: a.server.app[keys.PRESENCE].is_online(ids[0]))
    body = await (await a.post("/api/calls", json={"embed_id": embed, "name": "Erika"})).json()
    call_id = body["call_id"]
    calls_a = a.server.app[keys.CALLS]
    await calls_a.dispatcher.settle()
    await asyncio.gather(on_a.next("ringing"), on_b.next("ringing"))

    await on_b.ws.send_json({"type": "accept", "call_id": call_id})
    result = await on_b.next("result")
    assert result["ok"], result
    assert (await on_a.next("taken"))["by"] == "Agent 0"
    await _until(lambda: call_id not in calls_a._live)        # A rings it no more
    status = await (await a.get(f"/api/calls/{call_id}", params={"key": body["customer_key"]})).json()
    assert status == {"call_id": call_id, "state": "accepted", "agent_name": "Agent 0"}

    # the customer in the room on A, the agent through B (forwarded to A): media both ways
    room_id = (await call_store.get_call(db, call_id)).room_id
    assert a.server.app[keys.ROOMS].entry(room_id) is not None and b.server.app[keys.ROOMS].entry(room_id) is None
    customer = WsPeer(await a.ws_connect("/ws/room"), Client())
    agent = WsPeer(await b.ws_connect("/ws/room"), Client())
    try:
        await customer.join(body["room_token"])
        assert (await agent.join(result["room_token"]))["role"] == "agent"
        await customer.publish()
        await agent.publish()
        await wait_for(lambda: len(agent.client.received) == 2 and len(customer.client.received) == 2)
        await wait_for(lambda: all(r.frames > 5 for r in agent.client.received + customer.client.received))

        # the agent hangs up on B: the room on A closes, both are told
        await on_b.ws.send_json({"type": "hangup", "call_id": call_id})
        assert (await on_b.next("result"))["ok"]
        await _until(lambda: a.server.app[keys.ROOMS].entry(room_id) is None)
        assert (await agent.expect("room_closed"))["reason"] == "ended_by_agent"
        assert (await customer.expect("room_closed"))["reason"] == "ended_by_agent"
    finally:
        await agent.close()
        await customer.close()
    for each in (on_a, on_b):
        await each.close()


async def test_a_token_of_a_room_on_a_node_that_is_gone_is_answered(two_nodes):
    a, b = two_nodes
    rooms_a = a.server.app[keys.ROOMS]
    room_id = await rooms_a.create_room()
    token = b.server.app[keys.ROOMS].issue_token(room_id, "agent", "Anna")     # B signs for A's room
    assert rooms_a.grant(token).room_id == room_id
    b.server.app[keys.NODES].others.clear()      # B has not heard of A (gone, or not yet)
    ws = await b.ws_connect("/ws/room")
    await ws.send_json({"type": "join", "token": token, "id": "j1"})
    error = await ws.receive_json(timeout=5)
    assert (error["code"], error["ref"]) == ("room_unreachable", "j1")       # the page's join is refused, not left waiting
    await ws.close()
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert rooms_a.grant(forged) is None


async def test_a_silent_node_takes_its_agents_offline_and_its_calls_are_closed(two_nodes, monkeypatch):
    a, b = two_nodes
    db, tenant, ids = await _world(a)
    embed = await make_flow(db, tenant, [(await make_group(db, tenant, "Sales", ids), 60)])
    on_b = await online_agent(b, ids[0], f"agent0.t{tenant}@example.com")
    on_a = await online_agent(a, ids[1], f"agent1.t{tenant}@example.com")
    presence_a = a.server.app[keys.PRESENCE]
    await _until(lambda: presence_a.is_online(ids[0]))
    on_a_call = (await (await a.post("/api/calls", json={"embed_id": embed, "name": "Stays"})).json())["call_id"]
    on_b_call = (await (await b.post("/api/calls", json={"embed_id": embed, "name": "Lost"})).json())["call_id"]
    for node in (a, b):
        await node.server.app[keys.CALLS].dispatcher.settle()
    assert {(await on_a.next("ringing"))["call_id"], (await on_a.next("ringing"))["call_id"]} == {on_a_call, on_b_call}

    assert "vidzzle_nodes 2.0" in await (await a.get("/metrics")).text()
    # B stops beating without a word, as a killed process does
    monkeypatch.setattr(nodes, "EXPIRES_S", 0.5)
    b.server.app[keys.NODES]._heartbeat.cancel()
    await _until(lambda: not presence_a.is_online(ids[0]), timeout=3)
    assert presence_a.online_user_ids(tenant) == {ids[1]}
    assert "vidzzle_nodes 1.0" in await (await a.get("/metrics")).text()
    # its call is closed by A (its room went with B), A's own call rings on
    withdrawn = await on_a.next("withdrawn", timeout=10)    # A looks from EXPIRES_S (7 s) after its start
    assert (withdrawn["call_id"], withdrawn["reason"]) == (on_b_call, "interrupted")
    lost = await call_store.get_call(db, on_b_call)
    assert (lost.state, lost.miss_reason) == ("missed", "interrupted")
    assert (await call_store.get_call(db, on_a_call)).state == "ringing"
    for agent in (on_a, on_b):
        await agent.close()


async def test_a_customer_page_that_reaches_another_node_is_answered_by_the_calls_node(two_nodes, monkeypatch):
    """A phone that changed networks lands on node B: its pre-ring check, the
    room (forwarded) and its leave all work there, answered by node A."""
    from vidzzle_media.services.calls import service as call_service

    monkeypatch.setattr(call_service, "READY_WAIT_S", 0.3)
    a, b = two_nodes
    db, tenant, ids = await _world(a)
    embed = await make_flow(db, tenant, [(await make_group(db, tenant, "Sales", ids[:1]), 60)])
    on_b = await online_agent(b, ids[0], f"agent0.t{tenant}@example.com")
    await _until(lambda: a.server.app[keys.PRESENCE].is_online(ids[0]))
    body = await (await a.post("/api/calls", json={"embed_id": embed, "name": "Mobil", "precheck": True})).json()
    call_id, key = body["call_id"], body["customer_key"]
    status = await (await b.get(f"/api/calls/{call_id}", params={"key": key})).json()
    assert status["state"] == "ringing" and status["checking"] is True      # only A knows it is still checking
    resp = await b.post(f"/api/calls/{call_id}/ready", json={"customer_key": key},
                        headers={"Accept-Language": "de"})
    assert resp.status == 409                                              # no media at A yet: A's answer...
    assert (await resp.json())["error"] == "Ihre Kamera und Ihr Mikrofon erreichen uns noch nicht."   # ...in German
    assert (await (await b.get(f"/api/calls/{call_id}", params={"key": "wrong"})).json())["error"]

    customer = WsPeer(await b.ws_connect("/ws/room"), Client())          # the room through B
    try:
        await customer.join(body["room_token"])
        await customer.publish()
        for _ in range(30):                                                # ICE and DTLS take a moment
            resp = await b.post(f"/api/calls/{call_id}/ready", json={"customer_key": key})
            if resp.status == 200:
                break
        assert resp.status == 200 and (await resp.json())["checking"] is False
        await a.server.app[keys.CALLS].dispatcher.settle()
        assert (await on_b.next("ringing"))["call_id"] == call_id         # rung only now
        resp = await b.post(f"/api/calls/{call_id}/leave", json={"customer_key": key})
        assert (await resp.json())["state"] == "abandoned"
        await _until(lambda: call_id not in a.server.app[keys.CALLS]._live)   # A rings it no more
        assert (await on_b.next("customer_left"))["call_id"] == call_id
    finally:
        await customer.close()
        await on_b.close()


async def test_a_presentation_uploaded_on_node_b_is_shown_in_a_call_on_node_a(two_nodes, tmp_path):
    """Each node's data_dir holds its own files: the PDF comes from the store."""
    from sfu.test_presentation import make_pdf

    from vidzzle_media.services.branding import presentations

    a, b = two_nodes
    db, tenant, ids = await _world(a)
    pdf = Path(make_pdf(tmp_path / "deck.pdf", [(1, 0, 0), (0, 0, 1)])).read_bytes()
    pid = await presentations.upload(b.server.app[keys.DATABASE], tenant, pdf, filename="Neuwagen.pdf")
    (row,) = await presentations.library(db, tenant)
    on_a = presentations.files_root(a.server.app[keys.DATABASE]) / row.file_name
    assert row.id == pid and not on_a.exists()
    embed = await make_flow(db, tenant, [(await make_group(db, tenant, "Sales", ids), 60)])
    body = await (await a.post("/api/calls", json={"embed_id": embed, "name": "Erika"})).json()
    entry = a.server.app[keys.ROOMS].entry((await call_store.get_call(db, body["call_id"])).room_id)
    assert [d.title for d in entry.documents] == ["Neuwagen"] and entry.presentation.state.page_count == 2
    assert on_a.read_bytes() == pdf                       # kept as this node's copy


async def test_a_lost_listening_connection_is_made_again_and_nothing_is_taken_for_gone_meanwhile(two_nodes):
    a, b = two_nodes
    db, tenant, ids = await _world(a)
    a_db, nodes_a = a.server.app[keys.DATABASE], a.server.app[keys.NODES]
    pid = a_db._listening.get_server_pid()
    await db.fetchval("SELECT pg_terminate_backend(?)", (pid,))      # PostgreSQL restarted, say
    await _until(lambda: a_db._listening is not None and a_db._listening.get_server_pid() != pid)
    on_b = await online_agent(b, ids[0], f"agent0.t{tenant}@example.com")
    await _until(lambda: a.server.app[keys.PRESENCE].is_online(ids[0]))     # A hears B again
    assert nodes_a.hearing()
    # a node that hears nothing, not even itself, takes nobody for gone
    embed = await make_flow(db, tenant, [(await make_group(db, tenant, "Any", ids), 60)])
    body = await (await b.post("/api/calls", json={"embed_id": embed, "name": "On B"})).json()
    on_b_call = await call_store.get_call(db, body["call_id"])
    calls_a = a.server.app[keys.CALLS]
    assert calls_a._holder(on_b_call) == "alive"
    nodes_a._heard_self -= nodes.DEAF_S + 1
    nodes_a.others.clear()
    assert calls_a._holder(on_b_call) == "unknown"
    await on_b.close()
