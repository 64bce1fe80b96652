"""The public call API against the real app: routing on an injected clock,
the real room directory, a real SQLite file."""

from __future__ import annotations

import json

import pgstore
from admin.helpers import make_tenant

from vidzzle_media.store import calls as call_store

from .world import ALL_WEEK, make_agents, make_flow, make_group


async def _setup(db, rows=((1, 20), (2, 30))):
    """Agents offline in the browser but notified by mail: every row rings its whole time."""
    tenant = await make_tenant(db, "Alpha Cars")
    a1 = await make_agents(db, tenant, 2, prefix="first", notify_email=True)
    a2 = await make_agents(db, tenant, 1, prefix="second", notify_email=True)
    g1 = await make_group(db, tenant, "Sales", a1)
    g2 = await make_group(db, tenant, "Service", a2)
    groups = {1: g1, 2: g2}
    embed = await make_flow(db, tenant, [(groups[g], s) for g, s in rows])
    return tenant, a1, a2, embed


async def _start(cli, embed, name="Erika Mustermann"):
    resp = await cli.post("/api/calls", json={"embed_id": embed, "name": name})
    return resp.status, await resp.json()


async def _rung(db, call_id):
    return await call_store.rung_users(db, call_id)


async def test_escalation_at_exact_boundaries(cli, db, calls, clock, rooms):
    tenant, a1, a2, embed = await _setup(db)
    status, body = await _start(cli, embed)
    assert status == 201 and body["state"] == "ringing"
    call_id, key = body["call_id"], body["customer_key"]
    assert rooms.grant(body["room_token"]).role == "customer"
    await calls.dispatcher.settle()
    assert set(await _rung(db, call_id)) == set(a1)                 # 0 s: row 1 only
    await clock.advance(19.9)
    await calls.dispatcher.settle()
    assert set(await _rung(db, call_id)) == set(a1)                 # 19.9 s: still only group 1
    await clock.advance(0.1)
    await calls.dispatcher.settle()
    assert set(await _rung(db, call_id)) == set(a1) | set(a2)      # 20.0 s: groups 1 and 2
    assert calls.dispatcher.rows_ringing(call_id) == [0, 1]
    await clock.advance(29.9)
    await calls.dispatcher.settle()
    resp = await cli.get(f"/api/calls/{call_id}", params={"key": key})
    assert (await resp.json())["state"] == "ringing"
    await clock.advance(0.1)                                        # 50.0 s: escalated
    await calls.dispatcher.settle()
    resp = await cli.get(f"/api/calls/{call_id}", params={"key": key})
    assert await resp.json() == {"call_id": call_id, "state": "escalated",
                                 "redirect_url": "https://dealer.example/sorry"}
    call = await call_store.get_call(db, call_id)
    assert call.state == "missed" and call.miss_reason == "rang_unanswered"
    assert rooms.entry(body["room_id"]) is None                     # the room is gone
    types = [t for t, _, _ in await call_store.list_events(db, tenant, call_id)]
    assert types == ["CallCreated", "CallRinging", "CallRinging", "CallMissed"]


async def test_out_of_hours_on_a_closed_day(cli, db, calls):
    tenant = await make_tenant(db, "Alpha Cars")
    group = await make_group(db, tenant, "Sales", await make_agents(db, tenant, 1))
    hours = dict(ALL_WEEK, monday_start="09:00", monday_end="09:00")    # the clock says Monday
    embed = await make_flow(db, tenant, [(group, 30)], hours=hours)
    status, body = await _start(cli, embed)
    assert status == 200
    assert body["state"] == "out_of_hours" and body["out_of_hours_url"] == "https://dealer.example/closed"
    call = await call_store.get_call(db, body["call_id"])
    assert call.state == "out_of_hours" and call.room_id == "" and call.miss_reason == "out_of_hours"
    await calls.dispatcher.settle()
    assert await _rung(db, call.id) == {}
    assert [t for t, _, _ in await call_store.list_events(db, tenant, call.id)] == ["CallCreated", "CallOutOfHours"]


async def test_a_public_holiday_and_a_closed_exception_are_closed_days(cli, db, clock):
    tenant = await make_tenant(db, "Alpha Cars")
    group = await make_group(db, tenant, "Sales", await make_agents(db, tenant, 1, notify_email=True))
    bavaria = await make_flow(db, tenant, [(group, 30)], holiday_region="DE-BY", exceptions="2026-03-03 closed")
    berlin = await make_flow(db, tenant, [(group, 30)], holiday_region="DE-BE", name="Berlin")
    clock.set_now(clock.now().replace(month=1, day=6))             # Epiphany: a holiday in Bavaria only
    _, body = await _start(cli, bavaria)
    assert body["state"] == "out_of_hours" and body["out_of_hours_url"] == "https://dealer.example/closed"
    call = await call_store.get_call(db, body["call_id"])
    assert (call.state, call.miss_reason) == ("out_of_hours", "holiday")
    assert (await _start(cli, berlin))[1]["state"] == "ringing"
    clock.set_now(clock.now().replace(month=3, day=3))             # the one-off closed day
    call = await call_store.get_call(db, (await _start(cli, bavaria))[1]["call_id"])
    assert (call.state, call.miss_reason) == ("out_of_hours", "holiday")
    clock.set_now(clock.now().replace(month=3, day=4))
    assert (await _start(cli, bavaria))[1]["state"] == "ringing"


async def test_out_of_hours_outside_the_day(cli, db, clock):
    tenant = await make_tenant(db, "Alpha Cars")
    group = await make_group(db, tenant, "Sales", await make_agents(db, tenant, 1))
    hours = dict(ALL_WEEK, monday_start="12:00", monday_end="18:00")
    embed = await make_flow(db, tenant, [(group, 30)], hours=hours)
    assert (await _start(cli, embed))[1]["state"] == "out_of_hours"     # 11:00 Berlin
    clock.set_now(clock.now().replace(hour=11))                            # 12:00 Berlin
    assert (await _start(cli, embed))[1]["state"] == "ringing"


async def test_customer_leaves_while_ringing(cli, db, calls, clock, rooms):
    tenant, a1, a2, embed = await _setup(db)
    _, body = await _start(cli, embed)
    await calls.dispatcher.settle()
    await clock.advance(12.5)
    resp = await cli.post(f"/api/calls/{body['call_id']}/leave", json={"customer_key": body["customer_key"]})
    assert (await resp.json())["state"] == "abandoned"
    assert not calls.dispatcher.is_ringing(body["call_id"])
    await clock.advance(100)
    await calls.dispatcher.settle()
    call = await call_store.get_call(db, body["call_id"])
    assert call.state == "abandoned" and call.miss_reason == "customer_cancelled"
    assert set(await _rung(db, call.id)) == set(a1)                 # row 2 never rang
    assert rooms.entry(body["room_id"]) is None
    last, payload, _ = (await call_store.list_events(db, tenant, call.id))[-1]
    assert last == "CallAbandoned" and json.loads(payload)["waited_s"] == 12.5


async def test_customer_leaving_the_room_abandons(cli, db, calls, rooms):
    tenant, a1, a2, embed = await _setup(db)
    _, body = await _start(cli, embed)
    await rooms.close_room(body["room_id"], "everyone left")   # the SFU's event reaches the call service
    for _ in range(20):
        if (await call_store.get_call(db, body["call_id"])).state != "ringing":
            break
        await calls.dispatcher.settle()
        import asyncio
        await asyncio.sleep(0.01)
    assert (await call_store.get_call(db, body["call_id"])).state == "abandoned"


async def test_unknown_and_deleted_embed_ids_are_a_clear_404(cli, db):
    from vidzzle_media.services.tenancy import flows as flow_service
    resp = await cli.post("/api/calls", json={"embed_id": "nope", "name": "X"})
    assert resp.status == 404
    assert "embed id" in (await resp.json())["error"]
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    tenant, a1, a2, embed = await _setup(db)
    flow = (await flow_service.list_flows(db, tenant))[0]
    await flow_service.delete_flow(db, tenant, flow.id)
    resp = await cli.post("/api/calls", json={"embed_id": embed, "name": "X"})
    assert resp.status == 404


async def test_status_needs_the_customer_key(cli, db):
    tenant, a1, a2, embed = await _setup(db)
    _, body = await _start(cli, embed)
    for params in ({}, {"key": "wrong"}):
        resp = await cli.get(f"/api/calls/{body['call_id']}", params=params)
        assert resp.status == 404
    resp = await cli.get(f"/api/calls/{body['call_id']}", headers={"X-Call-Key": body["customer_key"]})
    assert resp.status == 200


async def test_cors_preflight_and_beacon_leave(cli, db):
    resp = await cli.options("/api/calls", headers={"Origin": "https://dealer.example",
                                                    "Access-Control-Request-Method": "POST"})
    assert resp.status == 204 and resp.headers["Access-Control-Allow-Origin"] == "*"
    tenant, a1, a2, embed = await _setup(db)
    _, body = await _start(cli, embed)
    # navigator.sendBeacon posts text/plain
    resp = await cli.post(f"/api/calls/{body['call_id']}/leave", data=json.dumps({"customer_key": body["customer_key"]}),
                          headers={"Content-Type": "text/plain;charset=UTF-8"})
    assert resp.status == 200 and (await resp.json())["state"] == "abandoned"


async def test_rate_limited_per_address(cli, db):
    tenant, a1, a2, embed = await _setup(db)
    statuses = [(await cli.post("/api/calls", json={"embed_id": embed})).status for _ in range(11)]
    assert statuses[:10] == [201] * 10
    assert statuses[10] == 429


async def test_bad_requests(cli):
    resp = await cli.post("/api/calls", data="not json", headers={"Content-Type": "application/json"})
    assert resp.status == 400
    resp = await cli.post("/api/calls", json={"name": "x"})
    assert resp.status == 400 and "embed_id" in (await resp.json())["fields"]


async def test_restart_closes_calls_left_open(aiohttp_client, settings, db, cli, calls):
    from vidzzle_media.admin.auth import CurrentUser
    from vidzzle_media.app import create_app
    tenant, a1, a2, embed = await _setup(db)
    _, ringing = await _start(cli, embed)
    _, accepted = await _start(cli, embed)
    await calls.dispatcher.settle()
    await calls.accept(accepted["call_id"], CurrentUser(a1[0], tenant, "user", "First 0", "x@example.com"))
    await cli.close()                                   # the process goes away mid-call
    await aiohttp_client(create_app(settings))          # and starts again on the same database
    again = pgstore.database(settings)
    await again.open()
    try:
        assert (await call_store.get_call(again, ringing["call_id"])).state == "missed"
        assert (await call_store.get_call(again, ringing["call_id"])).miss_reason == "interrupted"
        assert (await call_store.get_call(again, accepted["call_id"])).state == "ended"
    finally:
        await again.close()


async def test_rows_nobody_can_answer_are_skipped_at_once(cli, db, calls, clock):
    """Row 1's agents are offline without mail, row 2's agent gets a mail:
    row 2 rings at 0 s, and the call escalates 30 s later, not 50 s."""
    tenant = await make_tenant(db, "Alpha Cars")
    offline = await make_agents(db, tenant, 2, prefix="first")
    mailed = await make_agents(db, tenant, 1, prefix="second", notify_email=True)
    embed = await make_flow(db, tenant, [(await make_group(db, tenant, "Sales", offline), 20),
                                         (await make_group(db, tenant, "Service", mailed), 30)])
    _, body = await _start(cli, embed)
    await calls.dispatcher.settle()
    assert set(await _rung(db, body["call_id"])) == set(offline) | set(mailed)     # at 0 s
    await clock.advance(29.9)
    await calls.dispatcher.settle()
    assert (await call_store.get_call(db, body["call_id"])).state == "ringing"
    await clock.advance(0.1)
    await calls.dispatcher.settle()
    call = await call_store.get_call(db, body["call_id"])
    assert (call.state, call.miss_reason) == ("missed", "rang_unanswered")


async def test_nobody_to_ring_at_all_sends_the_customer_on_at_once(cli, db, calls, clock):
    tenant = await make_tenant(db, "Alpha Cars")
    embed = await make_flow(db, tenant, [(await make_group(db, tenant, "Sales", await make_agents(db, tenant, 2)),
                                          60)])
    _, body = await _start(cli, embed)
    await calls.dispatcher.settle()                   # no time passes on the clock
    resp = await cli.get(f"/api/calls/{body['call_id']}", params={"key": body["customer_key"]})
    assert await resp.json() == {"call_id": body["call_id"], "state": "escalated",
                                 "redirect_url": "https://dealer.example/sorry"}
    call = await call_store.get_call(db, body["call_id"])
    assert (call.state, call.miss_reason, call.ended_at) == ("missed", "no_agent_available", call.created_at)
