"""Several nodes drain one outbox on PostgreSQL: each item is delivered
exactly once (every node claims with FOR UPDATE SKIP LOCKED), and a node
that starts does not take back the items another node is sending."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import timedelta

import pgstore
import pytest
from aiohttp import web

from vidzzle_media import senders
from vidzzle_media.services.outbox.webhooks import queue_webhook
from vidzzle_media.services.outbox.worker import LEASE, OutboxWorker, utc_now
from vidzzle_media.store import PostgresDatabase
from vidzzle_media.store import outbox as outbox_store

ITEMS = 1000


@pytest.fixture
def shared_url():
    """A PostgreSQL database of its own, as the nodes of one install share it."""
    url, drop = pgstore.empty_database("n_")
    yield url
    drop()


@pytest.fixture
async def receiver(aiohttp_server):
    """A real webhook target counting each item's deliveries (by its body)."""
    hits: Counter[str] = Counter()

    async def hook(request: web.Request) -> web.Response:
        hits[json.loads(await request.read())["n"]] += 1
        await asyncio.sleep(0.001)          # a receiver that takes a moment: the nodes overlap
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    server = await aiohttp_server(app, host="127.0.0.1")
    return str(server.make_url("/hook")), hits


async def node(url: str, tmp_path, settings) -> tuple[PostgresDatabase, OutboxWorker]:
    db = PostgresDatabase(url, files_dir=tmp_path)
    await db.open()
    worker = OutboxWorker(db, settings, batch=20, sender_source=senders.OutboxSenders(db, settings))
    await worker.start(run_loops=False)
    return db, worker


async def test_two_nodes_deliver_a_thousand_items_each_exactly_once(shared_url, receiver, tmp_path, settings):
    target, hits = receiver
    a_db, a = await node(shared_url, tmp_path, settings)
    b_db, b = await node(shared_url, tmp_path, settings)
    try:
        async with a_db.transaction() as conn:
            tenant = (await conn.execute("INSERT INTO tenants(name, created_at) VALUES (?, ?)", ("T", "2026-01-01"))).lastrowid
            for n in range(ITEMS):
                await queue_webhook(conn, tenant_id=tenant, url=target, headers={}, body={"n": str(n)},
                                    secret="s3cret-for-the-test-only", event="call.end")
        counts = await asyncio.gather(a.deliver_due("webhook"), b.deliver_due("webhook"))
        assert sum(counts) == ITEMS and min(counts) > 0           # both nodes took part
        assert len(hits) == ITEMS and set(hits.values()) == {1}   # every item, each once
        states = await a_db.fetchall("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
        assert {r["state"]: r["n"] for r in states} == {"sent": ITEMS}
    finally:
        for worker, db in ((a, a_db), (b, b_db)):
            await worker.stop()
            await db.close()


async def test_a_starting_node_leaves_the_claims_of_another_alone(shared_url, receiver, tmp_path, settings):
    target, hits = receiver
    a_db, a = await node(shared_url, tmp_path, settings)
    try:
        async with a_db.transaction() as conn:
            tenant = (await conn.execute("INSERT INTO tenants(name, created_at) VALUES (?, ?)", ("T", "2026-01-01"))).lastrowid
            item = await queue_webhook(conn, tenant_id=tenant, url=target, headers={}, body={"n": "only"},
                                       secret="s3cret-for-the-test-only", event="call.end")
        now = utc_now()
        claimed = await outbox_store.claim_due(a_db, kind="webhook", now=now, lease_until=now + LEASE,
                                               token="node-a", limit=10)   # node A is sending it
        assert [i.id for i in claimed] == [item]
        b_db, b = await node(shared_url, tmp_path, settings)                 # node B starts meanwhile
        try:
            assert await b.deliver_due("webhook") == 0 and not hits
            row = await outbox_store.get(b_db, item)
            assert row.state == "queued" and row.next_attempt_at > (now + LEASE - timedelta(seconds=1)).isoformat()
        finally:
            await b.stop()
            await b_db.close()
    finally:
        await a.stop()
        await a_db.close()
