"""The worker inside the real application: started by create_app, woken after commits,
and delivering what was queued before a (re)start (R-OPS-3)."""

from __future__ import annotations

import asyncio

import pgstore

from vidzzle_media import keys
from vidzzle_media.app import create_app
from vidzzle_media.keys import OUTBOX
from vidzzle_media.services.outbox import worker as outbox
from vidzzle_media.services.outbox.mail import queue_mail
from vidzzle_media.services.outbox.sms import queue_sms
from vidzzle_media.services.outbox.webhooks import generate_secret, queue_webhook


async def eventually(check, timeout: float = 5.0):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "not delivered in time"
        await asyncio.sleep(0.02)


async def test_commit_then_wake_delivers_every_kind(smtp_server, aiohttp_client, settings, http_peer):
    client = await aiohttp_client(create_app(settings))
    app = client.server.app
    db = app[keys.DATABASE]
    tenant = await db.execute("INSERT INTO tenants (name, created_at, language) VALUES ('Autohaus', '2025-01-01', 'en')")
    async with db.transaction() as conn:
        await queue_mail(conn, template="call_invitation", tenant_id=tenant, to_email="kunde@example.com",
                         to_name="Kunde", link="https://v.example/j/1", sender_name="Agent")
        await queue_sms(conn, tenant_id=tenant, to="+491511234567", text="Join: https://v.example/j/2")
        await queue_webhook(conn, tenant_id=tenant, url=http_peer.make_url("/start"), headers={},
                            body={"callid": "x"}, secret=generate_secret(), event="call.start")
    app[OUTBOX].wake()
    (mail,) = await smtp_server.wait(1)
    assert mail["Subject"] == "Invitation to a video call"

    async def all_sent():
        return await outbox.depth(db) == {"email": 0, "sms": 0, "webhook": 0}

    await eventually(all_sent)
    assert len(http_peer.hits("/start")) == 1


async def test_items_queued_before_start_are_delivered_at_start(smtp_server, aiohttp_client, settings):
    db = pgstore.database(settings)
    await db.open()
    async with db.transaction() as conn:
        await queue_mail(conn, template="confirmation", tenant_id=None, to_email="first@example.com",
                         to_name="First", link="https://v.example/o/1")
    await db.close()
    await aiohttp_client(create_app(settings))           # no wake(): the start-up pass sends it
    (mail,) = await smtp_server.wait(1)
    assert mail["To"].addresses[0].addr_spec == "first@example.com"


async def test_healthz_still_answers_with_the_worker_running(client):
    response = await client.get("/healthz")
    assert response.status == 200
