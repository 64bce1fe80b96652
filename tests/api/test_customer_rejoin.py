"""A ringing customer whose room connection drops gets a grace period
(services.calls.CUSTOMER_REJOIN_GRACE_S) to re-join with the same room token:
real app, real room WebSockets, the call service's manual clock."""

from __future__ import annotations

import asyncio

import pytest
from admin.helpers import make_tenant
from aiohttp.test_utils import TestServer

from vidzzle_media.services.calls.service import CUSTOMER_REJOIN_GRACE_S
from vidzzle_media.store import calls as call_store

from .world import make_agents, make_flow, make_group, online_agent


class ProductionServer(TestServer):
    """aiohttp's test server cancels a handler whose client went away
    (handler_cancellation=True); production (web.run_app, AppRunner) does not.
    A cancelled room socket handler never finishes its leave, so no
    participant_left would reach the call service: serve like production."""

    async def _make_runner(self, **kwargs):
        kwargs["handler_cancellation"] = False
        return await super()._make_runner(**kwargs)


@pytest.fixture
async def cli(aiohttp_client, app):
    return await aiohttp_client(ProductionServer(app))


async def _ringing_call(cli, db, calls):
    tenant = await make_tenant(db, "Rejoin Cars")
    ids = await make_agents(db, tenant, 1)
    gid = await make_group(db, tenant, "Sales", ids)
    embed = await make_flow(db, tenant, [(gid, 240)])
    agent = await online_agent(cli, ids[0], f"agent0.t{tenant}@example.com")
    body = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "Erika"})).json()
    assert body["state"] == "ringing"
    await calls.dispatcher.settle()
    assert (await agent.next("ringing"))["call_id"] == body["call_id"]
    return agent, body


async def _join(cli, token: str):
    ws = await cli.ws_connect("/ws/room")
    await ws.send_json({"type": "join", "token": token, "display_name": "Erika", "id": "j"})
    while True:
        msg = await ws.receive_json(timeout=5)
        if msg["type"] == "joined":
            return ws


async def _until(predicate, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def _state(db, call_id: str) -> str:
    return (await call_store.get_call(db, call_id)).state


async def test_rejoin_within_grace_keeps_ringing(cli, db, calls, clock, rooms):
    agent, body = await _ringing_call(cli, db, calls)
    room = body["room_id"]
    ws = await _join(cli, body["room_token"])
    await ws.close()                                              # the socket drops
    await _until(lambda: room in calls._away)
    await clock.advance(CUSTOMER_REJOIN_GRACE_S - 1)
    assert await _state(db, body["call_id"]) == "ringing"
    ws = await _join(cli, body["room_token"])                     # the page's automatic re-join
    await _until(lambda: room not in calls._away)
    await clock.advance(CUSTOMER_REJOIN_GRACE_S * 2)
    await calls.dispatcher.settle()
    assert await _state(db, body["call_id"]) == "ringing"
    # a re-join that replaces a connection the server still holds: left + joined, still ringing
    second = await _join(cli, body["room_token"])
    await _until(lambda: room not in calls._away and len(rooms.entry(room).sessions) == 1)
    await clock.advance(CUSTOMER_REJOIN_GRACE_S * 2)
    assert await _state(db, body["call_id"]) == "ringing"
    assert calls.dispatcher.is_ringing(body["call_id"])
    assert [m for m in await agent.drain() if m["type"] == "customer_left"] == []
    await ws.close()
    await second.close()
    await agent.close()


async def test_no_rejoin_abandons_after_grace(cli, db, calls, clock, rooms):
    agent, body = await _ringing_call(cli, db, calls)
    ws = await _join(cli, body["room_token"])
    await ws.close()
    await _until(lambda: body["room_id"] in calls._away)
    await clock.advance(CUSTOMER_REJOIN_GRACE_S - 0.5)
    assert await _state(db, body["call_id"]) == "ringing"
    await clock.advance(0.5)
    left = await agent.next("customer_left")
    assert left["call_id"] == body["call_id"]
    assert await _state(db, body["call_id"]) == "abandoned"
    assert not calls.dispatcher.is_ringing(body["call_id"])
    assert rooms.entry(body["room_id"]) is None
    await agent.close()


async def test_explicit_leave_abandons_at_once(cli, db, calls, clock):
    agent, body = await _ringing_call(cli, db, calls)
    ws = await _join(cli, body["room_token"])
    resp = await cli.post(f"/api/calls/{body['call_id']}/leave", json={"customer_key": body["customer_key"]})
    assert (await resp.json())["state"] == "abandoned"
    assert (await agent.next("customer_left"))["call_id"] == body["call_id"]
    await ws.close()
    await agent.close()
