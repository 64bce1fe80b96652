"""A media worker dies with calls in it (server.media_workers): their rooms
end with ``worker_lost`` and the calls are recorded as interrupted, not as if
someone had hung up; the agent rung for the waiting call is told."""

from __future__ import annotations

import asyncio
import json
import os
import signal

import pytest
from admin.helpers import make_tenant
from sfu.peers import wait_for

from vidzzle_media.store import calls as call_store

from .world import make_agents, make_flow, make_group, online_agent


@pytest.fixture
def settings(settings):
    settings.server.media_workers = 1
    return settings


async def test_calls_of_a_lost_worker_are_interrupted(cli, db, calls, rooms):
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
