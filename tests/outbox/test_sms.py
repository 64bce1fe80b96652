"""SMS: the http gateway sender against a real local HTTP server, and the log sender."""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from vidzzle_media.services.outbox import sms
from vidzzle_media.services.outbox import worker as outbox
from vidzzle_media.services.outbox.sms import queue_sms
from vidzzle_media.store import outbox as outbox_store

TEXT = 'Incoming call: "Müller" {text} \\ \n https://v.example/t/a?b=1&c=2'


async def queue(db, tenant, clock, to="+49 151 1234-5678", text=TEXT) -> int:
    async with db.transaction() as conn:
        return await queue_sms(conn, tenant_id=tenant, to=to, text=text, now=clock())


def use_gateway(settings, peer, **extra):
    settings.sms.sender = "http"
    settings.sms.http_url = peer.make_url("/send")
    settings.sms.http_auth_header = "Authorization: Bearer gw-s3cret"
    for key, value in extra.items():
        setattr(settings.sms, key, value)


async def test_http_gateway_gets_json_body_and_auth_header(settings, http_peer, db, tenant, clock, make_worker):
    use_gateway(settings, http_peer)
    item = await queue(db, tenant, clock)
    worker = await make_worker()
    assert await worker.deliver_due() == 1
    (request,) = http_peer.hits("/send")
    assert request.method == "POST"
    assert request.headers["Authorization"] == "Bearer gw-s3cret"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body) == {"to": "+4915112345678", "text": TEXT}
    row = await outbox_store.get(db, item)
    assert (row.state, row.attempts) == ("sent", 1)
    # the secret auth header never reaches the attempt log
    attempts = await db.fetchall("SELECT status, error FROM outbox_attempts")
    assert [tuple(a) for a in attempts] == [("200", "")]


async def test_http_gateway_form_body_get_url_and_retry(settings, http_peer, db, tenant, clock, make_worker):
    use_gateway(settings, http_peer, http_url=http_peer.make_url("/form?key=1&to={to}"),
                http_body="to={to}&msg={text}", http_content_type="application/x-www-form-urlencoded",
                http_auth_header="X-Api-Key: k")
    http_peer.statuses = [503]
    item = await queue(db, tenant, clock)
    worker = await make_worker()
    await worker.deliver_due()
    row = await outbox_store.get(db, item)
    assert (row.state, row.attempts, row.last_error) == ("queued", 1, "gateway answered HTTP 503")
    clock.advance(seconds=30)
    await worker.deliver_due()
    assert (await outbox_store.get(db, item)).state == "sent"
    first, second = http_peer.hits("/form")
    assert second.path == "/form?key=1&to=%2B4915112345678"
    assert parse_qs(second.body.decode()) == {"to": ["+4915112345678"], "msg": [TEXT]}
    assert second.headers["X-Api-Key"] == "k"


async def test_log_sender_stores_each_message_once(settings, db, tenant, clock, make_worker):
    assert settings.sms.sender == "log"
    first = await queue(db, tenant, clock)
    second = await queue(db, None, clock, to="0049 30 123456", text="Hello")
    worker = await make_worker()
    assert await worker.deliver_due() == 2
    entries = await sms.list_log(db)
    assert [(e.outbox_id, e.tenant_id, e.recipient, e.text) for e in entries] == [
        (second, None, "004930123456", "Hello"),
        (first, tenant, "+4915112345678", TEXT),
    ]
    assert [e.outbox_id for e in await sms.list_log(db, tenant_id=tenant)] == [first]
    # a repeated attempt (e.g. after a crash) stores nothing twice
    item = await outbox_store.get(db, first)
    await worker.senders["sms"].deliver(item, clock())
    assert len(await sms.list_log(db)) == 2
    assert {e.state for e in await outbox.list_items(db, kind="sms")} == {"sent"}


async def test_bad_sms_input_is_refused(db, tenant, clock):
    for to, text in (("abc", "x"), ("+49 1", "x"), ("+491511234567", " "), ("+491511234567", "x" * 1601)):
        with pytest.raises(ValueError):
            await queue(db, tenant, clock, to=to, text=text)
    assert await outbox.list_items(db) == []


async def test_malformed_auth_header_is_a_start_error(settings, http_peer, make_worker):
    use_gateway(settings, http_peer, http_auth_header="no colon here")
    with pytest.raises(ValueError, match="Name: value"):
        await make_worker()
