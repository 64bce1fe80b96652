"""Notifications and webhooks through the real outbox worker: a real SMTP
server (aiosmtpd), a real local HTTP SMS gateway and a real webhook target."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re

import pytest
from admin.helpers import LOOPBACK, PASSWORD, Browser, make_tenant
from aiohttp import web

from vidzzle_media import keys
from vidzzle_media.admin.auth import CurrentUser
from vidzzle_media.keys import OUTBOX
from vidzzle_media.services.tenancy import webhook_settings
from vidzzle_media.store import calls as call_store

from .world import make_agents, make_flow, make_group

LINK = re.compile(r"/admin/call-link/([A-Za-z0-9_-]+)")


class Peer:
    """A real local HTTP server recording requests; answers from a script."""

    def __init__(self, statuses=()):
        self.requests: list[tuple[dict, str]] = []
        self.statuses = list(statuses)
        self.arrived = asyncio.Event()
        self.runner = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append((dict(request.headers), await request.text()))
        self.arrived.set()
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200, text="ok")

    async def start(self) -> "Peer":
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def wait(self, count: int, timeout: float = 10.0) -> None:
        async def until():
            while len(self.requests) < count:
                self.arrived.clear()
                await self.arrived.wait()
        await asyncio.wait_for(until(), timeout)

    async def stop(self) -> None:
        await self.runner.cleanup()


@pytest.fixture
async def gateway(settings):
    peer = await Peer().start()
    settings.sms.sender = "http"
    settings.sms.http_url = peer.url + "/send"
    yield peer
    await peer.stop()


@pytest.fixture
async def hook_target():
    peer = await Peer(statuses=[500]).start()   # fails once, then recovers
    yield peer
    await peer.stop()


async def _ringing_call(cli, db, calls, tenant, **agent_kw):
    ids = await make_agents(db, tenant, 1, **agent_kw)
    group = await make_group(db, tenant, "Sales", ids)
    embed = await make_flow(db, tenant, [(group, 60)])
    body = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "Erika"})).json()
    await calls.dispatcher.settle()
    return ids[0], body


async def test_notification_mail_link_asks_for_login_then_accepts(smtp_server, cli, db, calls):
    tenant = await make_tenant(db, "Alpha Cars")
    agent_id, body = await _ringing_call(cli, db, calls, tenant, notify_email=True)
    mails = await smtp_server.wait()
    mail = mails[0]
    assert mail["To"].addresses[0].addr_spec == f"agent0.t{tenant}@example.com"
    text = mail.get_body(("plain",)).get_content()
    token = LINK.search(text).group(1)

    browser = Browser(str(cli.make_url("/")))
    try:
        page = await browser.get(f"/admin/call-link/{token}")
        assert page.path == "/admin/login"                      # asks for login first
        page = await browser.post("/admin/login", {"email": f"agent0.t{tenant}@example.com", "password": PASSWORD,
                                                   "next": f"/admin/call-link/{token}"})
        assert page.path == f"/admin/call/{body['call_id']}"       # accepted, on the agent call page
        call = await call_store.get_call(db, body["call_id"])
        assert call.state == "accepted" and call.agent_id == agent_id
        again = await browser.get(f"/admin/call-link/{token}")
        assert again.status == 410                                  # single use
    finally:
        await browser.close()


async def test_link_of_another_user_is_refused(smtp_server, cli, db, calls):
    tenant = await make_tenant(db, "Alpha Cars")
    _, body = await _ringing_call(cli, db, calls, tenant, notify_email=True)
    token = LINK.search((await smtp_server.wait())[0].get_body(("plain",)).get_content()).group(1)
    await make_agents(db, tenant, 1, prefix="other")
    browser = Browser(str(cli.make_url("/")))
    try:
        await browser.login(f"other0.t{tenant}@example.com")
        assert (await browser.get(f"/admin/call-link/{token}")).status == 403
        assert (await call_store.get_call(db, body["call_id"])).state == "ringing"
    finally:
        await browser.close()


async def test_sms_through_a_local_http_gateway(gateway, cli, db, calls):
    tenant = await make_tenant(db, "Alpha Cars")
    await _ringing_call(cli, db, calls, tenant, notify_sms=True, mobile="+49 171 5550001")
    await gateway.wait(1)
    headers, raw = gateway.requests[0]
    sent = json.loads(raw)
    assert sent["to"].replace(" ", "") == "+491715550001"
    assert LINK.search(sent["text"]) and sent["text"].rstrip().endswith(LINK.search(sent["text"]).group(1))


def _verify(secret: str, headers: dict, body: str) -> bool:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body}".encode()
    expected = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return headers["webhook-signature"] == expected


async def test_webhooks_on_accept_and_end_with_a_failing_then_recovering_target(hook_target, cli, db, calls, clock):
    tenant = await make_tenant(db, "Alpha Cars")
    secret = await webhook_settings.save_settings(db, tenant, {
        "start_url": hook_target.url + "/start", "start_headers": "Authorization: Bearer abc",
        "end_url": hook_target.url + "/end", "end_headers": ""}, policy=LOOPBACK)
    assert secret.startswith("whsec_")
    outbox = cli.server.app[OUTBOX]
    outbox.now = clock.now                       # one injected clock for routing and retries
    agent_id, body = await _ringing_call(cli, db, calls, tenant, notify_email=True)
    agent = CurrentUser(agent_id, tenant, "user", "Agent 0", f"agent0.t{tenant}@example.com")
    await calls.accept(body["call_id"], agent)
    await hook_target.wait(1)                    # first attempt: 500
    await clock.advance(3600)
    outbox.wake()
    await hook_target.wait(2)                    # retried after the backoff: 200
    (h1, b1), (h2, b2) = hook_target.requests[:2]
    assert b1 == b2 and h1["webhook-id"] == h2["webhook-id"]
    payload = json.loads(b2)
    call = await call_store.get_call(db, body["call_id"])
    assert payload == {"callid": body["call_id"], "start": call.accepted_at, "end": "", "callflow": call.flow_id,
                       "userid": agent_id, "username": f"agent0.t{tenant}@example.com", "reason": ""}
    assert h2["Authorization"] == "Bearer abc" and _verify(secret, h2, b2)

    await clock.advance(42)
    await calls.hang_up(body["call_id"], agent)
    await hook_target.wait(3)
    headers, raw = hook_target.requests[2]
    end = json.loads(raw)
    call = await call_store.get_call(db, body["call_id"])
    assert end["end"] == call.ended_at and end["start"] == call.accepted_at and call.duration_s == 3642.0
    assert "Authorization" not in headers and _verify(secret, headers, raw)
    types = [t for t, _, _ in await call_store.list_events(db, tenant, body["call_id"])]
    assert types == ["CallCreated", "CallRinging", "CallAccepted", "CallEnded"]

    from vidzzle_media.services.outbox.webhooks import list_attempts
    for _ in range(100):   # the worker records the attempt just after the answer
        attempts = await list_attempts(db, tenant)
        if len(attempts) == 3:
            break
        await asyncio.sleep(0.02)
    assert sorted((a.ok, a.status) for a in attempts) == [(False, "500"), (True, "200"), (True, "200")]


async def test_missed_and_abandoned_calls_send_the_end_webhook(cli, db, calls, clock):
    """R-HOOK-2 for every incoming call: a call nobody took ends with start "" and user 0."""
    target = await Peer().start()
    try:
        tenant = await make_tenant(db, "Beta Cars")
        await webhook_settings.save_settings(db, tenant, {
            "start_url": target.url + "/start", "start_headers": "", "end_url": target.url + "/end", "end_headers": ""}, policy=LOOPBACK)
        ids = await make_agents(db, tenant, 1, notify_email=True)     # offline, told by mail: the rows ring out
        group = await make_group(db, tenant, "Service", ids)
        embed = await make_flow(db, tenant, [(group, 20)])
        left, missed = [await (await cli.post("/api/calls", json={"embed_id": embed, "name": n})).json()
                        for n in ("Erika", "Max")]
        await calls.dispatcher.settle()
        await calls.abandon(left["call_id"])
        await target.wait(1)
        await clock.advance(20)
        await calls.dispatcher.settle()
        await target.wait(2)
        bodies = {json.loads(raw)["callid"]: (headers, json.loads(raw)) for headers, raw in target.requests}
        for call_id in (left["call_id"], missed["call_id"]):
            _, body = bodies[call_id]
            call = await call_store.get_call(db, call_id)
            assert body == {"callid": call_id, "start": "", "end": call.ended_at, "callflow": call.flow_id,
                            "userid": 0, "username": "", "reason": call.miss_reason}
        assert {(await call_store.get_call(db, c)).state for c in bodies} == {"abandoned", "missed"}
        assert bodies[left["call_id"]][1]["reason"] == "customer_cancelled"
        assert bodies[missed["call_id"]][1]["reason"] == "rang_unanswered"
        assert all(r[0].get("webhook-id") for r in target.requests)
    finally:
        await target.stop()


async def test_ringing_calls_are_bounded_per_address_and_per_tenant(cli, db):
    settings = cli.server.app[keys.SETTINGS]
    settings.security.ringing_calls_per_address, settings.security.ringing_calls_per_tenant = 2, 3
    tenant = await make_tenant(db, "Burst Cars")
    ids = await make_agents(db, tenant, 1, notify_email=True)
    embed = await make_flow(db, tenant, [(await make_group(db, tenant, "Sales", ids), 60)])
    statuses = [(await cli.post("/api/calls", json={"embed_id": embed, "name": f"C{i}"})).status for i in range(3)]
    assert statuses == [201, 201, 429]                    # the third from the same address
    settings.security.ringing_calls_per_address = 100
    statuses = [(await cli.post("/api/calls", json={"embed_id": embed, "name": f"D{i}"})).status for i in range(2)]
    assert statuses == [201, 429]                         # the tenant's fourth ringing call
    body = await (await cli.post("/api/calls", json={"embed_id": embed, "name": "E"})).json()
    assert "Too many calls are waiting" in body["error"]
