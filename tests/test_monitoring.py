"""/healthz and /metrics on the real app: a real room with two aiortc
peers forwarding media, a ringing call, the outbox, and the access rule."""

import asyncio
import os
import re
from datetime import datetime, timezone

from admin.helpers import make_tenant
from backoffice.calls_seed import call_row, insert
from sfu.peers import Client, wait_for
from signalling.wspeer import WsPeer

from vidzzle_media.keys import DATABASE, OUTBOX, ROOMS
from vidzzle_media.services.outbox.webhooks import queue_webhook
from vidzzle_media.sfu import aiortc_glue
from vidzzle_media.store import callbacks as callback_store


def sample(text: str, name: str, labels: str = "") -> float:
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, flags=re.M)
    assert match, f"{name}{labels} not in metrics:\n{text}"
    return float(match.group(1))


async def test_healthz_reports_database_outbox_and_rooms(client):
    body = await (await client.get("/healthz")).json()
    assert body["status"] == "ok" and body["database"]["schema_version"] >= 4
    assert body["outbox"] == {"queued": {"email": 0, "sms": 0, "webhook": 0}, "oldest_queued_at": None}
    db = client.server.app[DATABASE]
    tenant = await make_tenant(db, "Health Motors")
    async with db.transaction() as conn:   # port 9 refuses: it stays queued, retried later
        await queue_webhook(conn, tenant_id=tenant, url="http://127.0.0.1:9/hook", headers={}, body={},
                            secret="whsec_dGVzdA==", event="call.end")
    body = await (await client.get("/healthz")).json()
    assert body["outbox"]["queued"]["webhook"] == 1 and body["outbox"]["oldest_queued_at"]
    assert body["rooms"] == 0


async def test_metrics_count_rooms_participants_and_forwarded_packets(client):
    directory = client.server.app[ROOMS]
    before = sample(await (await client.get("/metrics")).text(), "vidzzle_forwarded_packets_total")
    dropped = dict(aiortc_glue.DROPPED)
    room_id = await directory.create_room([])
    a = WsPeer(await client.ws_connect("/ws/room"), Client())
    b = WsPeer(await client.ws_connect("/ws/room"), Client())
    try:
        await a.join(directory.issue_token(room_id, "agent", "Anna"))
        await b.join(directory.issue_token(room_id, "customer", "Carl"))
        await a.publish()
        await b.publish()
        await wait_for(lambda: all(r.frames > 5 for r in a.client.received + b.client.received
                                   if r.track.kind == "video") and len(a.client.received) == 2)
        text = await (await client.get("/metrics")).text()
        assert sample(text, "vidzzle_rooms") == 1 and sample(text, "vidzzle_participants") == 2
        live = sample(text, "vidzzle_forwarded_packets_total")
        assert dict(aiortc_glue.DROPPED) == dropped         # real media is never taken for garbage
        assert live > before + 10 and sample(text, "vidzzle_forwarded_bytes_total") > 1000
        sample(text, "vidzzle_retransmitted_packets_total")     # exported (sample fails when it is not)
        sample(text, "vidzzle_dropped_datagrams_total", '{reason="unauthenticated_rtcp"}')
        await b.send({"type": "leave"})
        await b.expect("left")
        await directory.close_room(room_id, "ended")
        text = await (await client.get("/metrics")).text()
        # closed consumers keep counting: the total never goes backwards
        assert sample(text, "vidzzle_rooms") == 0 and sample(text, "vidzzle_forwarded_packets_total") >= live
    finally:
        await a.close()
        await b.close()
        aiortc_glue.set_host_addresses(None)


async def test_metrics_calls_and_outbox(client):
    db = client.server.app[DATABASE]
    tenant = await make_tenant(db, "Metric Motors")
    now = datetime.now(timezone.utc)
    await insert(db, [call_row(tenant, now, state=state) for state in ("ringing", "ended", "ended")]
                 + [call_row(tenant, now, state="missed", miss_reason="all_declined")])
    async with db.transaction() as conn:
        for name in ("Open", "Done"):
            await callback_store.insert(conn, tenant_id=tenant, flow_id=None, call_id=None, name=name, phone="+4989",
                                        email="", preferred="", at=now.isoformat())
        await callback_store.finish(conn, tenant, 2, now.isoformat())
    async with db.transaction() as conn:
        await queue_webhook(conn, tenant_id=tenant, url="http://127.0.0.1:9/hook", headers={}, body={"a": 1},
                            secret="whsec_dGVzdA==", event="call.end")
    text = await (await client.get("/metrics")).text()
    assert sample(text, "vidzzle_calls", '{state="ended"}') == 2
    assert sample(text, "vidzzle_calls", '{state="missed"}') == 1
    assert sample(text, "vidzzle_ringing_calls") == 1
    assert sample(text, "vidzzle_unaccepted_calls", '{reason="all_declined"}') == 1
    assert sample(text, "vidzzle_unaccepted_calls", '{reason="holiday"}') == 0      # every cause is listed
    assert sample(text, "vidzzle_open_callbacks") == 1                               # the done one is not
    assert sample(text, "vidzzle_outbox_depth", '{kind="webhook"}') == 1
    client.server.app[OUTBOX].wake()     # port 9 refuses: one failed attempt
    for _ in range(100):
        text = await (await client.get("/metrics")).text()
        if sample(text, "vidzzle_webhook_failed_attempts_total") == 1:
            break
        await asyncio.sleep(0.05)
    assert sample(text, "vidzzle_webhook_failed_attempts_total") == 1


async def test_metrics_report_the_process_and_its_tasks(client):
    """What an operator (and bench/soak.py) watches for leaks: memory, open files, live tasks."""
    text = await (await client.get("/metrics")).text()
    fds = len(os.listdir("/proc/self/fd"))
    assert abs(sample(text, "process_open_fds") - fds) <= 3
    assert sample(text, "process_resident_memory_bytes") > 20e6
    tasks = sample(text, "vidzzle_asyncio_tasks")
    assert tasks >= 1
    parked = [asyncio.ensure_future(asyncio.sleep(30)) for _ in range(50)]
    try:
        text = await (await client.get("/metrics")).text()
        assert sample(text, "vidzzle_asyncio_tasks") >= tasks + 50
    finally:
        for task in parked:
            task.cancel()


async def test_metrics_only_for_allowed_addresses(aiohttp_client, settings):
    from vidzzle_media.app import create_app

    settings.server.metrics_from = ["192.0.2.1"]   # not the test client's 127.0.0.1
    client = await aiohttp_client(create_app(settings))
    assert (await client.get("/metrics")).status == 404
