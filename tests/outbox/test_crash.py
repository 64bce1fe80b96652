"""Crash safety: confirmed items are never sent again, unconfirmed ones always are."""

from __future__ import annotations

import asyncio
import sys
import textwrap

import pgstore

from vidzzle_media.services.outbox.webhooks import queue_webhook
from vidzzle_media.services.outbox.worker import LEASE, utc_now
from vidzzle_media.store import outbox as outbox_store

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


async def queue(db, tenant, clock, url) -> int:
    async with db.transaction() as conn:
        return await queue_webhook(conn, tenant_id=tenant, url=url, headers={}, body={"x": url},
                                   secret=SECRET, event="call.start", now=clock())


async def wait_for(predicate, timeout: float = 5.0) -> None:
    """Poll a (possibly async) condition."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def test_claimed_but_unconfirmed_is_sent_again_after_restart(settings, http_peer, db, tenant, clock,
                                                                   make_worker):
    first = await queue(db, tenant, clock, http_peer.make_url("/a"))
    worker = await make_worker()
    await worker.deliver_due()
    assert (await outbox_store.get(db, first)).state == "sent"

    held = await queue(db, tenant, clock, http_peer.make_url("/b"))
    quick = await queue(db, tenant, clock, http_peer.make_url("/c"))
    http_peer.holds["/b"] = asyncio.Event()
    running = asyncio.create_task(worker.deliver_due())
    async def c_confirmed_b_in_flight():
        return bool(http_peer.hits("/b")) and (await outbox_store.get(db, quick)).state == "sent"

    await wait_for(c_confirmed_b_in_flight)
    running.cancel()                             # the process "dies" before /b is confirmed
    await asyncio.gather(running, return_exceptions=True)
    await db.close()
    http_peer.holds["/b"].set()

    restarted = pgstore.database(settings)
    await restarted.open()
    try:
        row = await outbox_store.get(restarted, held)
        assert row.state == "queued" and row.attempts == 0
        assert (await outbox_store.get(restarted, quick)).state == "sent"
        worker2 = await make_worker(database=restarted)   # start() releases the dead run's claims...
        if restarted.shared:      # ...on SQLite; nodes sharing PostgreSQL wait for the claim's lease
            assert await worker2.deliver_due() == 0
            clock.advance(seconds=LEASE.total_seconds())
        assert await worker2.deliver_due() == 1
        assert {i: (await outbox_store.get(restarted, i)).state for i in (first, held, quick)} == {
            first: "sent", held: "sent", quick: "sent"}
    finally:
        await worker2.stop()
        await restarted.close()
    assert len(http_peer.hits("/a")) == 1
    assert len(http_peer.hits("/c")) == 1
    assert len(http_peer.hits("/b")) == 2        # the documented window: received, not yet confirmed


KILLER = textwrap.dedent("""
    import asyncio, os, signal, sys
    import aiohttp
    from vidzzle_media.config import load_settings
    from vidzzle_media.services.outbox.worker import OutboxWorker
    from vidzzle_media.services.outbox.webhooks import queue_webhook
    from vidzzle_media.transports.webhook_http import WebhookSender
    from vidzzle_media.store import database_for

    async def main(url, path, tenant, base):
        db = database_for(url, path, ".")
        await db.open()
        for name in ("first", "second", "third"):
            async with db.transaction() as conn:
                await queue_webhook(conn, tenant_id=tenant, url=base + "/" + name, headers={},
                                    body={"n": name}, secret="plain-secret", event="call.end")
        async with aiohttp.ClientSession() as session:
            real = WebhookSender(session)

            class KillAfterSecondSend:
                sent = 0

                async def deliver(self, item, now):
                    result = await real.deliver(item, now)
                    KillAfterSecondSend.sent += 1
                    if KillAfterSecondSend.sent == 2:
                        os.kill(os.getpid(), signal.SIGKILL)   # before the confirmation is written
                    return result

            worker = OutboxWorker(db, load_settings(environ={}), senders={"webhook": KillAfterSecondSend()},
                                  batch=1)
            await worker.start(run_loops=False)
            await worker.deliver_due()

    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
""")


async def test_kill_9_between_send_and_confirmation(settings, http_peer, db, tenant, make_worker):
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", KILLER, settings.database.url, str(settings.database_path), str(tenant), http_peer.url)
    assert await asyncio.wait_for(proc.wait(), 30) == -9
    states = await db.fetchall("SELECT recipient, state, claim_token IS NOT NULL AS claimed FROM outbox ORDER BY id")
    assert [tuple(r) for r in states] == [
        (http_peer.make_url("/first"), "sent", 0),
        (http_peer.make_url("/second"), "queued", 1),     # claimed by the dead process
        (http_peer.make_url("/third"), "queued", 0),
    ]
    # the subprocess queued on the real clock; on PostgreSQL (nodes) its claim comes back after the lease
    worker = await make_worker(now=(lambda: utc_now() + LEASE) if db.shared else utc_now)
    assert await worker.deliver_due() == 2
    assert [len(http_peer.hits(p)) for p in ("/first", "/second", "/third")] == [1, 2, 1]
    assert {r["state"] for r in await db.fetchall("SELECT state FROM outbox")} == {"sent"}


async def test_a_stale_claim_is_due_again_after_the_lease(http_peer, db, tenant, clock, make_worker):
    item = await queue(db, tenant, clock, http_peer.make_url("/lease"))
    claimed = await outbox_store.claim_due(db, kind="webhook", now=clock(), lease_until=clock() + LEASE,
                                           token="someone-else", limit=10)
    assert [i.id for i in claimed] == [item]
    worker = await make_worker()
    # start() released it (a claim at start can only be a dead run's); claim again to test the lease alone
    await outbox_store.claim_due(db, kind="webhook", now=clock(), lease_until=clock() + LEASE,
                                 token="someone-else", limit=10)
    assert await worker.deliver_due() == 0
    clock.advance(seconds=LEASE.total_seconds() - 1)
    assert await worker.deliver_due() == 0
    clock.advance(seconds=1)
    assert await worker.deliver_due() == 1
    assert len(http_peer.hits("/lease")) == 1
    assert (await outbox_store.get(db, item)).state == "sent"
    # the late confirmation of the original claimant is refused: its claim is gone
    assert not await outbox_store.confirm(db, item_id=item, token="someone-else", now=clock(), ok=True,
                                          status="200", error="", duration_ms=1, next_attempt_at=None)
    assert (await outbox_store.get(db, item)).attempts == 1
