"""The outbound request policy (SSRF): which addresses webhooks and the SMS
gateway may reach. Refusals of non-loopback addresses are checked with the
policy function and stub resolvers only; the connect-time check is proven
with loopback listeners (nothing here opens a connection elsewhere)."""

from __future__ import annotations

import socket
from datetime import datetime, timezone

import aiohttp
import pytest
from admin.helpers import database, make_tenant
from aiohttp import web
from aiohttp.abc import AbstractResolver

from vidzzle_media.services.outbox.webhooks import queue_webhook
from vidzzle_media.store import outbox as outbox_store
from vidzzle_media.transports import outbound
from vidzzle_media.transports.outbound import OutboundPolicy
from vidzzle_media.transports.webhook_http import WebhookSender

STRICT = OutboundPolicy()

REFUSED = ["127.0.0.1", "127.1.2.3", "::1", "::ffff:127.0.0.1", "0.0.0.0", "::", "10.0.0.1", "172.16.5.4",
           "192.168.1.1", "100.64.0.1", "169.254.169.254", "fe80::1", "fc00::1", "fd12:3456::1", "224.0.0.1",
           "ff02::1", "255.255.255.255", "192.0.2.1", "64:ff9b::7f00:1", "2002:7f00:1::1", "2001::1", "fe80::1%eth0",
           "not-an-address"]
PERMITTED = ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", REFUSED)
def test_internal_addresses_are_refused(address):
    assert not STRICT.permits(address)


@pytest.mark.parametrize("address", PERMITTED)
def test_public_addresses_are_permitted(address):
    assert STRICT.permits(address)


def test_the_operator_can_open_a_network():
    lan = OutboundPolicy.from_cidrs(["10.0.0.0/8", " fd00::/8 "])
    assert lan.permits("10.1.2.3") and lan.permits("::ffff:10.1.2.3") and lan.permits("fd12::1")
    assert not lan.permits("127.0.0.1") and not lan.permits("192.168.1.1")


def stub(table: dict[str, list[str]]):
    async def lookup(host: str) -> list[str]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "unknown")
        return table[host]
    return lookup


async def test_saved_urls_are_resolved_and_checked():
    lookup = stub({"hooks.example": ["93.184.216.34"], "crm.example": ["10.0.0.5"],
                   "two-faced.example": ["93.184.216.34", "127.0.0.1"], "metadata.google.internal": ["169.254.169.254"]})
    assert await outbound.url_problem("https://hooks.example/in", STRICT, lookup) is None
    for url in ("https://crm.example/x", "http://two-faced.example/", "http://metadata.google.internal/computeMetadata"):
        assert "public internet" in await outbound.url_problem(url, STRICT, lookup), url
    assert "cannot be resolved" in await outbound.url_problem("https://nowhere.example/", STRICT, lookup)
    assert await outbound.url_problem("https://crm.example/x", OutboundPolicy.from_cidrs(["10.0.0.0/8"]), lookup) is None
    assert await outbound.url_problem("ftp://hooks.example/", STRICT, lookup)
    assert await outbound.url_problem("http://hooks.example:99999/", STRICT, lookup)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "0x7f000001", "2130706433", "0177.0.0.1",
                                  "127.1", "[::ffff:127.0.0.1]", "0.0.0.0"])
async def test_every_spelling_of_loopback_is_refused_at_save_time(host):
    """The real resolver: numeric spellings never leave the machine."""
    assert "public internet" in await outbound.url_problem(f"http://{host}:8080/hook", STRICT)


@pytest.fixture
async def listener():
    """A loopback HTTP listener counting what reaches it."""
    seen = []

    async def hook(request):
        seen.append(request.path)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/{tail:.*}", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    yield port, seen
    await runner.cleanup()


class Rebinding(AbstractResolver):
    """A name that looked public when saved and points at loopback when connecting."""

    async def resolve(self, host, port=0, family=socket.AF_INET):
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET, "proto": 0,
                 "flags": socket.AI_NUMERICHOST}]

    async def close(self):
        pass


async def test_connect_time_refusal_reaches_nothing(listener):
    port, seen = listener
    async with outbound.client_session(STRICT) as session:
        for host in ("127.0.0.1", "localhost", "2130706433"):   # (aiohttp refuses the odd spelling by itself)
            with pytest.raises((outbound.Refused, aiohttp.InvalidURL)):
                await session.post(f"http://{host}:{port}/hook", data=b"{}")
    async with outbound.client_session(STRICT, inner=Rebinding()) as session:
        with pytest.raises(outbound.Refused):
            await session.post(f"http://hooks.example:{port}/rebound", data=b"{}")
    assert seen == []
    async with outbound.client_session(OutboundPolicy.from_cidrs(["127.0.0.0/8"])) as session:   # opened by the operator
        async with session.post(f"http://localhost:{port}/allowed", data=b"{}") as resp:
            assert resp.status == 200
    assert seen == ["/allowed"]


async def test_the_delivery_log_shows_a_category_not_socket_errors(client, listener):
    port, seen = listener
    db = database(client)
    tenant = await make_tenant(db, "Probe Cars")
    async with db.transaction() as conn:
        refused = await queue_webhook(conn, tenant_id=tenant, url=f"http://127.0.0.1:{port}/x", headers={}, body={},
                                      secret="whsec_dGVzdA==", event="call.start")
        closed = await queue_webhook(conn, tenant_id=tenant, url="http://127.0.0.1:9/closed", headers={}, body={},
                                     secret="whsec_dGVzdA==", event="call.start")
    now = datetime.now(timezone.utc)
    async with outbound.client_session(STRICT) as session:
        result = await WebhookSender(session).deliver(await outbox_store.get(db, refused), now)
    assert (result.ok, result.error, result.permanent) == (False, "refused by policy", True) and seen == []
    async with outbound.client_session(OutboundPolicy.from_cidrs(["127.0.0.0/8"])) as session:
        result = await WebhookSender(session).deliver(await outbox_store.get(db, closed), now)
    assert (result.ok, result.error) == (False, "connection failed")      # not "Connection refused [Errno 111]"
