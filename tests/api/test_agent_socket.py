"""Presence and ringing over real WebSockets (aiohttp test server + client)."""

from __future__ import annotations

import asyncio

from admin.helpers import make_tenant

from vidzzle_media.keys import PRESENCE
from vidzzle_media.store import calls as call_store
from vidzzle_media.store import flows as flow_store

from .world import make_agents, make_flow, make_group, online_agent


def _email(db_id, tenant, prefix="agent"):
    return f"{prefix}{db_id}.t{tenant}@example.com"


async def _agents(cli, db, tenant, count, prefix="agent"):
    ids = await make_agents(db, tenant, count, prefix=prefix)
    agents = await asyncio.gather(*(online_agent(cli, uid, _email(i, tenant, prefix)) for i, uid in enumerate(ids)))
    return ids, list(agents)


async def _close(agents):
    await asyncio.gather(*(a.close() for a in agents))


async def test_presence_counts_open_sockets(cli, db):
    tenant = await make_tenant(db, "Alpha Cars")
    presence = cli.server.app[PRESENCE]
    ids, agents = await _agents(cli, db, tenant, 2)
    assert presence.online_user_ids(tenant) == set(ids)
    assert presence.online_user_ids(tenant + 1) == set()
    await agents[0].ws.close()
    for _ in range(50):
        if presence.online_user_ids(tenant) == {ids[1]}:
            break
        await asyncio.sleep(0.01)
    assert presence.online_user_ids(tenant) == {ids[1]}
    await _close(agents)


async def test_socket_needs_login(cli):
    resp = await cli.get("/ws/agent")
    assert resp.status == 401


async def test_cross_site_socket_refused(cli, db):
    tenant = await make_tenant(db, "Alpha Cars")
    ids, agents = await _agents(cli, db, tenant, 1)
    browser = agents[0].browser
    async with browser.session.get(browser.base + "/ws/agent", headers={"Origin": "https://evil.example"}) as resp:
        assert resp.status == 403
    await _close(agents)


async def test_fifty_concurrent_accepts_one_winner(cli, db, calls, rooms):
    tenant = await make_tenant(db, "Alpha Cars")
    ids, agents = await _agents(cli, db, tenant, 50)
    group = await make_group(db, tenant, "Everyone", ids)
    embed = await make_flow(db, tenant, [(group, 60)])
    body = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "Erika"})).json()
    call_id = body["call_id"]
    await calls.dispatcher.settle()
    rings = await asyncio.gather(*(a.next("ringing") for a in agents))
    assert {r["call_id"] for r in rings} == {call_id} and rings[0]["customer_name"] == "Erika"

    await asyncio.gather(*(a.ws.send_json({"type": "accept", "call_id": call_id}) for a in agents))
    results = await asyncio.gather(*(a.next("result") for a in agents))
    winners = [(a, r) for a, r in zip(agents, results, strict=True) if r["ok"]]
    assert len(winners) == 1
    winner, result = winners[0]
    assert rooms.grant(result["room_token"]).role == "agent"
    assert result["agent_path"] == f"/admin/call/{call_id}"
    name = f"Agent {ids.index(winner.user_id)}"
    losers = [(a, r) for a, r in zip(agents, results, strict=True) if not r["ok"]]
    assert len(losers) == 49
    assert {r["error"] for _, r in losers} == {f"This call was taken by {name}."}
    taken = await asyncio.gather(*(a.next("taken") for a, _ in losers))
    assert {(t["call_id"], t["by"]) for t in taken} == {(call_id, name)}

    call = await call_store.get_call(db, call_id)
    assert call.state == "accepted" and call.agent_id == winner.user_id
    events = [t for t, _, _ in await call_store.list_events(db, tenant, call_id)]
    assert events.count("CallAccepted") == 1
    status = await (await cli.get(f"/api/calls/{call_id}", params={"key": body["customer_key"]})).json()
    assert status == {"call_id": call_id, "state": "accepted", "agent_name": name}

    # the winner hangs up: ended with a duration, the customer is sent to the exit URL
    await winner.ws.send_json({"type": "hangup", "call_id": call_id})
    assert (await winner.next("result"))["ok"]
    status = await (await cli.get(f"/api/calls/{call_id}", params={"key": body["customer_key"]})).json()
    assert status["state"] == "ended" and status["redirect_url"] == "https://dealer.example/thanks"
    call = await call_store.get_call(db, call_id)
    assert call.duration_s is not None and call.ended_at
    await _close(agents)


async def test_customer_left_and_escalation_are_pushed(cli, db, calls, clock):
    tenant = await make_tenant(db, "Alpha Cars")
    ids, agents = await _agents(cli, db, tenant, 2)
    g1 = await make_group(db, tenant, "One", [ids[0]])
    g2 = await make_group(db, tenant, "Two", [ids[1]])
    embed = await make_flow(db, tenant, [(g1, 20), (g2, 30)])

    body = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "C"})).json()
    await calls.dispatcher.settle()
    await agents[0].next("ringing")
    assert [m for m in await agents[1].drain() if m["type"] == "ringing"] == []   # row 2 not yet
    await cli.post(f"/api/calls/{body['call_id']}/leave", json={"customer_key": body["customer_key"]})
    left = await agents[0].next("customer_left")
    assert left["call_id"] == body["call_id"]

    body = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "D"})).json()
    await calls.dispatcher.settle()
    await clock.advance(20)
    await calls.dispatcher.settle()
    assert (await agents[1].next("ringing"))["call_id"] == body["call_id"]
    await clock.advance(30)
    await calls.dispatcher.settle()
    for agent in agents:
        msg = await agent.next("withdrawn")
        assert msg == {"type": "withdrawn", "call_id": body["call_id"], "reason": "escalated"}
    call = await call_store.get_call(db, body["call_id"])
    assert call.state == "missed" and call.miss_reason == "rang_unanswered"
    await _close(agents)


async def test_agent_coming_online_gets_the_ringing_call(cli, db, calls):
    tenant = await make_tenant(db, "Alpha Cars")
    ids = await make_agents(db, tenant, 1, notify_email=True)    # offline, but the mail reaches them
    group = await make_group(db, tenant, "One", ids)
    embed = await make_flow(db, tenant, [(group, 60)])
    body = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "Late"})).json()
    await calls.dispatcher.settle()
    assert await call_store.rung_users(db, body["call_id"]) == {ids[0]: False}
    agent = await online_agent(cli, ids[0], _email(0, tenant))
    assert (await agent.next("ringing"))["call_id"] == body["call_id"]
    assert await call_store.rung_users(db, body["call_id"]) == {ids[0]: True}
    await agent.close()


async def test_accept_of_a_foreign_or_unrung_call(cli, db, calls):
    ta = await make_tenant(db, "Alpha Cars")
    tb = await make_tenant(db, "Beta Motors")
    a_ids = await make_agents(db, ta, 2, prefix="alpha", notify_email=True)
    group = await make_group(db, ta, "One", [a_ids[0]])
    embed = await make_flow(db, ta, [(group, 60)])
    body = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "C"})).json()
    await calls.dispatcher.settle()
    b_ids = await make_agents(db, tb, 1, prefix="beta")
    foreign = await online_agent(cli, b_ids[0], _email(0, tb, "beta"))
    await foreign.ws.send_json({"type": "accept", "call_id": body["call_id"]})
    result = await foreign.next("result")
    assert not result["ok"] and result["status"] == 404
    unrung = await online_agent(cli, a_ids[1], _email(1, ta, "alpha"))
    await unrung.ws.send_json({"type": "accept", "call_id": body["call_id"]})
    result = await unrung.next("result")
    assert not result["ok"] and result["status"] == 403
    await unrung.ws.send_str("{nonsense")
    assert (await unrung.next("error"))["type"] == "error"
    assert (await call_store.get_call(db, body["call_id"])).state == "ringing"
    await foreign.close()
    await unrung.close()


async def test_browser_leaving_mid_conversation_is_not_an_error(cli, db, caplog):
    """A page that navigates away while pings are answered (issue 22, item 7):
    the server's writes fail on a closing socket; that ends the socket quietly."""
    import logging
    tenant = await make_tenant(db, "Quiet Cars")
    _, agents = await _agents(cli, db, tenant, 1)
    presence = cli.server.app[PRESENCE]
    caplog.set_level(logging.DEBUG)
    for _ in range(5):
        for _ in range(200):
            await agents[0].ws.send_json({"type": "ping"})
        agents[0].ws._response.connection.transport.abort()
        for _ in range(100):
            if not presence.online_user_ids(tenant):
                break
            await asyncio.sleep(0.01)
        assert not presence.online_user_ids(tenant)
        await agents[0].connect()
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not bad, [(r.name, r.getMessage()) for r in bad]
    await _close(agents)


async def test_bad_messages_get_the_room_sockets_error_replies(cli, db):
    """Strict parsing as on /ws/room: not JSON, an unknown type, a missing or
    mistyped field each get an ``error`` with a code (and the request's id as
    ``ref``); the socket stays open and answers the next good message."""
    tenant = await make_tenant(db, "Gamma Cars")
    _, (agent,) = await _agents(cli, db, tenant, 1, prefix="gamma")
    await agent.ws.send_str("{nonsense")
    assert (await agent.next("error"))["code"] == "bad_json"
    cases = [({"type": "dance", "id": "r1"}, "unknown_type"), ({"type": "accept", "id": "r2"}, "bad_message"),
             ({"type": "hangup", "call_id": 7, "id": "r3"}, "bad_message")]
    for request, code in cases:
        await agent.ws.send_json(request)
        error = await agent.next("error")
        assert (error["code"], error["ref"]) == (code, request["id"]), error
        assert error["message"]
    await agent.ws.send_json({"type": "ping"})
    assert (await agent.next("pong"))["type"] == "pong"
    await _close([agent])


async def test_decline_stops_ringing_for_that_agent_only_then_the_next_row_rings_at_once(cli, db, calls, clock):
    tenant = await make_tenant(db, "Alpha Cars")
    ids, agents = await _agents(cli, db, tenant, 3)
    row1, row2 = await make_group(db, tenant, "One", ids[:2]), await make_group(db, tenant, "Two", [ids[2]])
    embed = await make_flow(db, tenant, [(row1, 60), (row2, 30)])
    body = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "C"})).json()
    call_id = body["call_id"]
    await calls.dispatcher.settle()
    await asyncio.gather(agents[0].next("ringing"), agents[1].next("ringing"))

    await agents[0].ws.send_json({"type": "decline", "call_id": call_id})
    assert (await agents[0].next("result"))["ok"]
    assert await agents[0].next("withdrawn") == {"type": "withdrawn", "call_id": call_id, "reason": "declined"}
    await calls.dispatcher.settle()
    assert not [m for m in await agents[1].drain() if m["type"] == "withdrawn"]    # still rings for agent 1
    assert not [m for m in await agents[2].drain() if m["type"] == "ringing"]       # row 2 waits its turn

    await agents[1].ws.send_json({"type": "decline", "call_id": call_id})           # row 1 all declined:
    assert (await agents[1].next("result"))["ok"]
    await calls.dispatcher.settle()
    assert (await agents[2].next("ringing"))["call_id"] == call_id                   # row 2 now, not at 60 s
    await agents[2].ws.send_json({"type": "decline", "call_id": call_id})
    assert (await agents[2].next("result"))["ok"]
    await calls.dispatcher.settle()
    call = await call_store.get_call(db, call_id)
    assert (call.state, call.miss_reason) == ("missed", "all_declined")             # nobody made to wait
    types = [t for t, _, _ in await call_store.list_events(db, tenant, call_id)]
    assert types.count("CallDeclined") == 3

    await agents[0].ws.send_json({"type": "decline", "call_id": call_id})           # too late: a clear answer
    result = await agents[0].next("result")
    assert not result["ok"] and result["status"] == 410
    await _close(agents)


async def test_an_agent_in_a_call_is_not_rung_unless_the_flow_says_so(cli, db, calls):
    tenant = await make_tenant(db, "Alpha Cars")
    ids, agents = await _agents(cli, db, tenant, 2)
    group = await make_group(db, tenant, "All", ids)
    embed = await make_flow(db, tenant, [(group, 60)])
    first = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "First"})).json()
    await calls.dispatcher.settle()
    await agents[0].ws.send_json({"type": "accept", "call_id": first["call_id"]})
    assert (await agents[0].next("result"))["ok"]

    assert (await agents[1].next("ringing"))["customer_name"] == "First"
    second = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "Second"})).json()
    await calls.dispatcher.settle()
    assert (await agents[1].next("ringing"))["customer_name"] == "Second"
    assert set(await call_store.rung_users(db, second["call_id"])) == {ids[1]}      # agent 0 is busy

    flow = (await flow_store.list_flows(db, tenant))[0]
    async with db.transaction() as conn:
        await conn.execute("UPDATE call_flows SET ring_busy_agents = 1 WHERE id = ?", (flow.id,))
    third = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "Third"})).json()
    await calls.dispatcher.settle()
    assert set(await call_store.rung_users(db, third["call_id"])) == set(ids)
    await _close(agents)
