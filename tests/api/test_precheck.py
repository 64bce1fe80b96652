"""The pre-ring check (issue 15 item 1) against the real app: with
``precheck`` nobody rings until the customer's page says ready AND a real
aiortc customer's media reaches the SFU; a failed check the customer gives
up on is recorded as customer_media_failed with what failed."""

from __future__ import annotations

import asyncio
import json

from admin.helpers import make_tenant
from sfu.peers import Client
from signalling.wspeer import WsPeer

from vidzzle_media.services.calls import call_list
from vidzzle_media.services.calls import service as call_service
from vidzzle_media.sfu import aiortc_glue
from vidzzle_media.store import calls as call_store

from .world import make_agents, make_flow, make_group, online_agent


async def _setup(cli, db):
    tenant = await make_tenant(db, "Check Cars")
    ids = await make_agents(db, tenant, 1)
    embed = await make_flow(db, tenant, [(await make_group(db, tenant, "Sales", ids), 60)])
    agent = await online_agent(cli, ids[0], f"agent0.t{tenant}@example.com")
    return tenant, embed, agent


async def test_nobody_rings_until_the_customers_media_reaches_the_server(cli, db, calls, monkeypatch):
    monkeypatch.setattr(call_service, "READY_WAIT_S", 0.3)
    tenant, embed, agent = await _setup(cli, db)
    body = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "Erika", "precheck": True})).json()
    call_id, key = body["call_id"], body["customer_key"]
    await calls.dispatcher.settle()
    assert await call_store.rung_users(db, call_id) == {}                 # checking: nobody rung yet
    status = await (await cli.get(f"/api/calls/{call_id}", params={"key": key})).json()
    assert status["state"] == "ringing" and status["checking"] is True
    resp = await cli.post(f"/api/calls/{call_id}/ready", json={"customer_key": key})
    assert resp.status == 409                                            # no media has arrived

    customer = WsPeer(await cli.ws_connect("/ws/room"), Client())
    try:
        await customer.join(body["room_token"])
        await customer.publish()
        resp = await cli.post(f"/api/calls/{call_id}/ready", json={"customer_key": key, "audio_only": False})
        for _ in range(20):                                              # ICE and DTLS take a moment
            if resp.status == 200:
                break
            resp = await cli.post(f"/api/calls/{call_id}/ready", json={"customer_key": key})
        assert resp.status == 200 and (await resp.json())["checking"] is False
        await calls.dispatcher.settle()
        assert (await agent.next("ringing"))["call_id"] == call_id        # rung only now
        types = [t for t, _, _ in await call_store.list_events(db, tenant, call_id)]
        assert types[:3] == ["CallCreated", "CustomerReady", "CallRinging"]
    finally:
        await customer.client.close()
        await agent.close()
        aiortc_glue.set_host_addresses(None)


async def test_a_failed_check_the_customer_gives_up_on_says_what_failed(cli, db, calls):
    tenant, embed, agent = await _setup(cli, db)
    body = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "Max", "precheck": True})).json()
    resp = await cli.post(f"/api/calls/{body['call_id']}/leave",
                          json={"customer_key": body["customer_key"], "media_problem": "permission_denied"})
    assert (await resp.json())["state"] == "abandoned"
    call = await call_store.get_call(db, body["call_id"])
    assert (call.state, call.miss_reason) == ("abandoned", "customer_media_failed")
    last, payload, _ = (await call_store.list_events(db, tenant, call.id))[-1]
    assert last == "CallAbandoned" and json.loads(payload)["media_problem"] == "permission_denied"
    (listed,) = (await call_list.call_page(db, tenant, {})).rows
    assert (listed.miss_reason, listed.media_problem) == ("customer_media_failed", "permission_denied")
    assert not [m for m in await agent.drain() if m["type"] == "ringing"]     # the agent never saw it
    # without a problem a leave is a plain cancel; an unknown problem is kept as "other"
    body = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "Eva", "precheck": True})).json()
    await cli.post(f"/api/calls/{body['call_id']}/leave",
                   json={"customer_key": body["customer_key"], "media_problem": "<script>"})
    _, payload, _ = (await call_store.list_events(db, tenant, body["call_id"]))[-1]
    assert json.loads(payload)["media_problem"] == "other"
    await agent.close()


async def test_a_check_that_never_passes_ends_the_call_instead_of_waiting_forever(cli, db, calls, clock):
    tenant, embed, agent = await _setup(cli, db)
    body = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "Gone", "precheck": True})).json()
    await clock.advance(call_service.PRECHECK_TIMEOUT_S - 1)
    assert (await call_store.get_call(db, body["call_id"])).state == "ringing"
    await clock.advance(1)
    await calls.dispatcher.settle()
    for _ in range(50):
        call = await call_store.get_call(db, body["call_id"])
        if call.state != "ringing":
            break
        await asyncio.sleep(0.02)
    assert (call.state, call.miss_reason) == ("abandoned", "customer_media_failed")
    _, payload, _ = (await call_store.list_events(db, tenant, call.id))[-1]
    assert json.loads(payload)["media_problem"] == "timeout"
    assert not [m for m in await agent.drain() if m["type"] == "ringing"]
    await agent.close()
