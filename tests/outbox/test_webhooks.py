"""Webhooks: signed POSTs to a real local aiohttp server, retries on the injected clock."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest

from vidzzle_media.services.outbox import webhooks as webhook_delivery
from vidzzle_media.services.outbox import worker as outbox
from vidzzle_media.services.outbox.webhooks import generate_secret, queue_webhook
from vidzzle_media.services.outbox.worker import POLICIES
from vidzzle_media.store import outbox as outbox_store

BODY = {"callid": "0b7e7f0e-1c1d-4a47-9a83-4bbd5bcb1d1e", "start": "2025-03-01T12:00:00+00:00", "end": "",
        "callflow": 7, "userid": 3, "username": "agent@example.com"}
SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Standard Webhooks verification, written from the spec independently of the sender."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = headers["webhook-id"].encode() + b"." + headers["webhook-timestamp"].encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(sig.split(",", 1) == ["v1", expected] for sig in headers["webhook-signature"].split(" "))


async def queue(db, tenant, clock, url, **kwargs) -> int:
    kwargs.setdefault("headers", {"X-Crm-Token": "abc 123"})
    async with db.transaction() as conn:
        return await queue_webhook(conn, tenant_id=tenant, url=url, body=kwargs.pop("body", BODY),
                                   secret=kwargs.pop("secret", SECRET), event=kwargs.pop("event", "call.start"),
                                   now=clock(), **kwargs)


async def test_post_exact_json_with_signature_and_extra_headers(http_peer, db, tenant, clock, make_worker):
    item = await queue(db, tenant, clock, http_peer.make_url("/hook"))
    worker = await make_worker()
    assert await worker.deliver_due() == 1
    (request,) = http_peer.hits("/hook")
    assert request.method == "POST"
    assert json.loads(request.body) == BODY
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Crm-Token"] == "abc 123"
    assert request.headers["webhook-id"] == f"msg_{item}"
    assert request.headers["webhook-timestamp"] == str(int(clock().timestamp()))
    assert verify(SECRET, request.headers, request.body)
    assert not verify(generate_secret(), request.headers, request.body)
    assert not verify(SECRET, request.headers, request.body + b" ")
    (attempt,) = await webhook_delivery.list_attempts(db, tenant, 50)
    assert (attempt.ok, attempt.status, attempt.event, attempt.url, attempt.delivery_state) == (
        True, "200", "call.start", http_peer.make_url("/hook"), "sent")


async def test_failing_then_recovering_target_with_backoff(http_peer, db, tenant, clock, make_worker):
    http_peer.statuses = [500, 502, 404]
    item = await queue(db, tenant, clock, http_peer.make_url("/flaky"))
    worker = await make_worker()            # jitter source = 1.0: delays are exactly base * 2**n
    policy = POLICIES["webhook"]
    for attempt, _status in enumerate(["500", "502", "404"], start=1):
        assert await worker.deliver_due() == 1
        row = await outbox_store.get(db, item)
        assert (row.state, row.attempts) == ("queued", attempt)
        delay = policy.base_s * 2 ** (attempt - 1)
        assert outbox_store.parse_iso(row.next_attempt_at) == clock() + timedelta(seconds=delay)
        clock.advance(seconds=delay - 0.5)
        assert await worker.deliver_due() == 0           # not due yet
        clock.advance(seconds=0.5)
    assert await worker.deliver_due() == 1
    assert (await outbox_store.get(db, item)).state == "sent"
    requests = http_peer.hits("/flaky")
    assert len(requests) == 4
    assert len({r.headers["webhook-id"] for r in requests}) == 1          # stable across retries
    assert all(verify(SECRET, r.headers, r.body) for r in requests)
    assert len({r.headers["webhook-timestamp"] for r in requests}) == 4   # re-signed per attempt
    log = await webhook_delivery.list_attempts(db, tenant, 50)
    assert [(a.ok, a.status) for a in log] == [(True, "200"), (False, "404"), (False, "502"), (False, "500")]
    assert all(a.error for a in log if not a.ok)


async def test_redirect_is_not_followed_and_counts_as_failure(http_peer, db, tenant, clock, make_worker):
    item = await queue(db, tenant, clock, http_peer.make_url("/redirect"))
    worker = await make_worker()
    await worker.deliver_due()
    assert http_peer.hits("/landed") == []
    row = await outbox_store.get(db, item)
    assert (row.state, row.attempts) == ("queued", 1)
    (attempt,) = await webhook_delivery.list_attempts(db, tenant, 10)
    assert (attempt.ok, attempt.status) == (False, "302") and "redirect" in attempt.error


async def test_retries_for_more_than_a_day_then_fails(http_peer, db, tenant, clock, make_worker):
    http_peer.statuses = [500] * 1000
    start = clock()
    item = await queue(db, tenant, clock, http_peer.make_url("/down"))
    worker = await make_worker()
    while True:
        await worker.deliver_due()
        row = await outbox_store.get(db, item)
        if row.state != "queued":
            break
        clock.moment = outbox_store.parse_iso(row.next_attempt_at)
    assert row.state == "failed"
    last_attempt = clock() - start
    assert last_attempt >= timedelta(hours=24)
    assert last_attempt <= timedelta(seconds=POLICIES["webhook"].window_s)
    assert len(http_peer.hits("/down")) == row.attempts
    assert [e.id for e in await outbox.list_items(db, kind="webhook", state="failed")] == [item]


async def test_unreachable_target_and_tenant_isolation(db, tenant, clock, make_worker):
    other = await db.execute("INSERT INTO tenants (name, created_at) VALUES ('Other', ?)", (clock().isoformat(),))
    await queue(db, tenant, clock, "http://127.0.0.1:9/nothing-listens")
    worker = await make_worker()
    await worker.deliver_due()
    (attempt,) = await webhook_delivery.list_attempts(db, tenant, 10)
    assert attempt.ok is False and attempt.status == "" and attempt.error
    assert await webhook_delivery.list_attempts(db, other, 10) == []
    # no secret and no header value is ever shown
    listed = await outbox.list_items(db, kind="webhook")
    assert SECRET not in repr(listed) and "abc 123" not in repr(listed) and SECRET not in repr(attempt)


async def test_bad_webhook_input_is_refused(db, tenant, clock):
    for kwargs in ({"url": "ftp://x/y"}, {"url": "http:///path"}, {"url": "http://x", "headers": {"Bad Name": "v"}},
                   {"url": "http://x", "headers": {"X": "a\r\nb"}}, {"url": "http://x", "secret": ""}):
        url = kwargs.pop("url")
        with pytest.raises(ValueError):
            await queue(db, tenant, clock, url, **kwargs)
    assert await outbox.list_items(db) == []


def test_secret_format():
    secret = generate_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 24


async def test_a_hanging_target_times_out_and_is_retried(http_peer, db, tenant, clock, make_worker):
    import aiohttp

    from vidzzle_media.transports.webhook_http import TIMEOUT, WebhookSender

    assert TIMEOUT.total == 10
    http_peer.holds["/slow"] = asyncio.Event()          # never set: the target hangs
    item = await queue(db, tenant, clock, http_peer.make_url("/slow"))
    async with aiohttp.ClientSession() as session:
        worker = await make_worker(senders={"webhook": WebhookSender(session, aiohttp.ClientTimeout(total=0.3))})
        await worker.deliver_due()
    row = await outbox_store.get(db, item)
    assert (row.state, row.attempts) == ("queued", 1) and row.last_error == "timeout"   # a category, not the exception
    http_peer.holds["/slow"].set()
