"""A media worker dies with calls in it (server.media_workers): their rooms
move to a new worker and the calls go on, recorded as interrupted
(``CallInterrupted``). A room that cannot move again ends with
``worker_lost``: its call is recorded as interrupted, not as if someone had
hung up, and the agent rung for a waiting call is told."""

from __future__ import annotations

import asyncio
import json
import os
import signal

import pytest
from admin.helpers import make_tenant
from sfu.peers import wait_for

from vidzzle_media.signalling.rooms import MAX_MOVES
from vidzzle_media.store import calls as call_store

from .world import make_agents, make_flow, make_group, online_agent


@pytest.fixture
def settings(settings):
    settings.server.media_workers = 1
    return settings


async def two_calls(cli, db, calls):
    """An accepted call and one ringing for the second agent."""
    tenant = await make_tenant(db, "Alpha Cars")
    ids = await make_agents(db, tenant, 2)
    agents = [await online_agent(cli, uid, f"agent{i}.t{tenant}@example.com") for i, uid in enumerate(ids)]
    embed = await make_flow(db, tenant, [(await make_group(db, tenant, "Everyone", ids), 60)])
    talking = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "Erika"})).json()
    await calls.dispatcher.settle()
    assert (await agents[0].next("ringing"))["call_id"] == talking["call_id"]
    await agents[0].ws.send_json({"type": "accept", "call_id": talking["call_id"]})
    assert (await agents[0].next("result"))["ok"]
    ringing = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "Max"})).json()
    await calls.dispatcher.settle()
    while (await agents[1].next("ringing"))["call_id"] != ringing["call_id"]:
        pass
    return tenant, agents, talking, ringing


async def test_calls_of_a_lost_worker_go_on_and_are_recorded_as_interrupted(cli, db, calls, rooms):
    tenant, agents, talking, ringing = await two_calls(cli, db, calls)
    moved = []
    rooms.on("room_moved", moved.append)
    (worker,) = rooms.media.workers
    os.kill(worker.process.pid, signal.SIGKILL)
    await wait_for(lambda: len(moved) == 2, timeout=15)     # onto the worker started in its place
    assert {m.room_id for m in moved} == {talking["room_id"], ringing["room_id"]}

    async def interrupted(call_id):
        return [json.loads(p) for t, p, _ in await call_store.list_events(db, tenant, call_id) if t == "CallInterrupted"]

    await wait_for_async(lambda: interrupted(talking["call_id"]))
    await wait_for_async(lambda: interrupted(ringing["call_id"]))
    assert await interrupted(talking["call_id"]) == [{"reason": "worker_lost", "state": "accepted"}]
    assert await interrupted(ringing["call_id"]) == [{"reason": "worker_lost", "state": "ringing"}]
    assert (await call_store.get_call(db, talking["call_id"])).state == "accepted"
    assert (await call_store.get_call(db, ringing["call_id"])).state == "ringing"
    assert set(rooms.rooms) >= {talking["room_id"], ringing["room_id"]}
    # the agent's hang-up still ends the call as before
    await agents[0].ws.send_json({"type": "hangup", "call_id": talking["call_id"]})
    await wait_for_async(lambda: _state_is(db, talking["call_id"], "ended"))
    await asyncio.gather(*(a.close() for a in agents))


async def _state_is(db, call_id, state):
    return (await call_store.get_call(db, call_id)).state == state


async def wait_for_async(predicate, timeout: float = 10.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_calls_whose_room_cannot_move_again_are_ended_as_interrupted(cli, db, calls, rooms):
    tenant, agents, talking, ringing = await two_calls(cli, db, calls)
    for room_id in (talking["room_id"], ringing["room_id"]):
        rooms.rooms[room_id].moves = MAX_MOVES       # lost its media too often already
    closed = []
    rooms.on("room_closed", closed.append)
    (worker,) = rooms.media.workers
    os.kill(worker.process.pid, signal.SIGKILL)
    await wait_for(lambda: len(closed) == 2, timeout=10)
    assert {c.reason for c in closed} == {"worker_lost"}

    async def state(call_id):
        return await call_store.get_call(db, call_id)

    for _ in range(100):
        ended, missed = await state(talking["call_id"]), await state(ringing["call_id"])
        if ended.state == "ended" and missed.state == "missed":
            break
        await asyncio.sleep(0.05)
    assert ended.state == "ended" and ended.duration_s is not None
    events = await call_store.list_events(db, tenant, talking["call_id"])
    assert [(t, json.loads(p).get("by")) for t, p, _ in events][-1] == ("CallEnded", "interrupted")
    assert (missed.state, missed.miss_reason) == ("missed", "interrupted")
    withdrawn = await agents[1].next("withdrawn")
    assert (withdrawn["call_id"], withdrawn["reason"]) == (ringing["call_id"], "interrupted")
    # and a new worker took its place
    await wait_for(lambda: len(rooms.media.workers) == 1 and rooms.media.workers[0] is not worker, timeout=10)
    await asyncio.gather(*(a.close() for a in agents))
