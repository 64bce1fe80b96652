"""The built-in TURN relay with aioice's own TURN client as the peer (over
TCP and over TLS), an ICE connection that can only go through the relay,
and the protocol's error paths, each refused with the right STUN error."""

from __future__ import annotations

import asyncio
import logging
import ssl
import struct
import time

import aioice
import pytest
from aioice import stun
from aioice.turn import create_turn_endpoint, make_integrity_key

from vidzzle_media.relay import credentials
from vidzzle_media.relay.server import RelayLimits, TurnServer
from vidzzle_media.sfu import aiortc_glue
from vidzzle_media.tls import ensure_self_signed

SECRET = b"test-secret"
LOOPBACK = "127.0.0.1"


@pytest.fixture
def tls_contexts(tmp_path):
    cert, key = ensure_self_signed(tmp_path / "certs")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    client.check_hostname = False
    return server, client


async def relay(tls=None, limits: RelayLimits | None = None, peers=(LOOPBACK,), **kw) -> tuple[TurnServer, int]:
    server = TurnServer(SECRET, lambda: set(peers), limits=limits or RelayLimits(), **kw)
    port = await server.listen(LOOPBACK, 0, tls)
    return server, port


def fresh(who="browser", ttl=600, now=None):
    return credentials.issue(SECRET, who, ttl, time.time() if now is None else now)


class Echo(asyncio.DatagramProtocol):
    """The stand-in SFU socket: answers every datagram with "echo:" + it."""

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.transport.sendto(b"echo:" + data, addr)


class Inbox(asyncio.DatagramProtocol):
    def __init__(self):
        self.queue: asyncio.Queue = asyncio.Queue()

    def datagram_received(self, data, addr):
        self.queue.put_nowait((data, addr))


async def echo_peer():
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(Echo, local_addr=(LOOPBACK, 0))
    return transport, transport.get_extra_info("sockname")


@pytest.mark.parametrize("secure", [False, True], ids=["tcp", "tls"])
async def test_aioice_client_relays_to_the_sfu_address(secure, tls_contexts):
    server_ctx, client_ctx = tls_contexts
    server, port = await relay(tls=server_ctx)
    peer, peer_addr = await echo_peer()
    cred = fresh()
    try:
        transport, inbox = await create_turn_endpoint(Inbox, (LOOPBACK, port), cred.username, cred.password,
                                                      transport="tcp", ssl=client_ctx if secure else None)
        assert transport.get_extra_info("sockname")[0] == LOOPBACK       # the relayed address
        transport.sendto(b"hello", peer_addr)
        data, addr = await asyncio.wait_for(inbox.queue.get(), 5)
        assert (data, addr) == (b"echo:hello", peer_addr)
        assert server.stats.allocations == 1 and server.stats.bytes_relayed == len(b"hello") + len(b"echo:hello")
        transport.close()
        await asyncio.sleep(0.2)
        assert server.stats.allocations == 0
    finally:
        peer.close()
        await server.close()


async def test_ice_through_the_relay_only():
    """An aioice ICE agent whose only usable candidate is its relayed one
    connects to a host-candidate agent (the SFU's side) and exchanges data."""
    server, port = await relay()
    cred = fresh()
    aiortc_glue.set_host_addresses([LOOPBACK])
    try:
        sfu = aioice.Connection(ice_controlling=False)
        browser = aioice.Connection(ice_controlling=True, turn_server=(LOOPBACK, port), turn_username=cred.username,
                                    turn_password=cred.password, turn_transport="tcp",
                                    transport_policy=aioice.TransportPolicy.RELAY)
        await asyncio.gather(sfu.gather_candidates(), browser.gather_candidates())
        relayed = [c for c in browser.local_candidates if c.type == "relay"]
        assert relayed and len(relayed) == len(browser.local_candidates), browser.local_candidates
        for candidate in relayed:                       # the SFU learns only the relayed candidate
            await sfu.add_remote_candidate(candidate)
        await sfu.add_remote_candidate(None)
        for candidate in sfu.local_candidates:
            await browser.add_remote_candidate(candidate)
        await browser.add_remote_candidate(None)
        sfu.remote_username, sfu.remote_password = browser.local_username, browser.local_password
        browser.remote_username, browser.remote_password = sfu.local_username, sfu.local_password
        await asyncio.wait_for(asyncio.gather(sfu.connect(), browser.connect()), 15)
        await browser.send(b"media")
        assert await asyncio.wait_for(sfu.recv(), 5) == b"media"
        await sfu.send(b"back")
        assert await asyncio.wait_for(browser.recv(), 5) == b"back"
        assert server.stats.bytes_relayed > 0
        await browser.close()
        await sfu.close()
    finally:
        aiortc_glue.set_host_addresses(None)
        await server.close()


# -- error paths, with a raw STUN client -------------------------------------------------------

class Raw:
    """One TCP connection speaking STUN by hand."""

    def __init__(self, reader, writer):
        self.reader, self.writer = reader, writer
        self.nonce = None
        self.realm = None

    @classmethod
    async def open(cls, port):
        return cls(*await asyncio.open_connection(LOOPBACK, port))

    async def ask(self, method, attributes=None, cred=None, key=None) -> stun.Message:
        message = stun.Message(method, stun.Class.REQUEST, attributes=dict(attributes or {}))
        if cred is not None:
            message.attributes.update(USERNAME=cred.username, REALM=self.realm, NONCE=self.nonce)
            message.add_message_integrity(key or make_integrity_key(cred.username, self.realm, cred.password))
        self.writer.write(bytes(message))
        header = await asyncio.wait_for(self.reader.readexactly(20), 5)
        body = await self.reader.readexactly(struct.unpack("!H", header[2:4])[0])
        response = stun.parse_message(header + body)
        assert response.transaction_id == message.transaction_id
        if "NONCE" in response.attributes:
            self.nonce, self.realm = response.attributes["NONCE"], response.attributes["REALM"]
        return response

    async def allocate(self, cred, transport=0x11000000) -> stun.Message:
        first = await self.ask(stun.Method.ALLOCATE, {"REQUESTED-TRANSPORT": transport})
        assert first.error_code == 401 and self.realm and self.nonce      # the challenge
        return await self.ask(stun.Method.ALLOCATE, {"REQUESTED-TRANSPORT": transport}, cred)

    def close(self):
        self.writer.close()


async def test_error_paths_are_refused_with_the_right_code(caplog):
    caplog.set_level(logging.INFO)
    server, port = await relay(limits=RelayLimits(max_allocations=3, max_allocations_per_user=2))
    try:
        good = fresh()
        wrong = credentials.Credential(good.username, "not-the-password", good.expires_at)
        expired = fresh(now=time.time() - 3600)
        raw = await Raw.open(port)
        assert (await raw.allocate(wrong)).error_code == 401                  # bad credentials
        assert (await raw.allocate(expired)).error_code == 401                # expired credentials
        assert (await raw.allocate(good, transport=0x06000000)).error_code == 442   # TCP relaying: not offered
        ok = await raw.allocate(good)
        assert ok.message_class == stun.Class.RESPONSE and ok.attributes["XOR-RELAYED-ADDRESS"][0] == LOOPBACK
        key = make_integrity_key(good.username, raw.realm, good.password)
        assert (await raw.ask(stun.Method.ALLOCATE, {"REQUESTED-TRANSPORT": 0x11000000}, good)).error_code == 437
        # a peer that is not one of this host's SFU addresses: never an open relay
        refused = await raw.ask(stun.Method.CREATE_PERMISSION, {"XOR-PEER-ADDRESS": ("198.51.100.7", 9)}, good)
        assert refused.error_code == 403 and refused.check_message_integrity(key)   # signed: the client believes it
        bound = await raw.ask(stun.Method.CHANNEL_BIND, {"CHANNEL-NUMBER": 0x3FFF, "XOR-PEER-ADDRESS": (LOOPBACK, 9)},
                              good)
        assert bound.error_code == 400                                        # channel number out of range
        assert (await raw.ask(stun.Method.CREATE_PERMISSION, {"XOR-PEER-ADDRESS": (LOOPBACK, 9)}, good)
                ).message_class == stun.Class.RESPONSE
        other = fresh("someone-else")
        assert (await raw.ask(stun.Method.REFRESH, {"LIFETIME": 600}, other)).error_code == 401  # not its allocation
        # quotas: a second allocation per credential is fine, the third is not; the total is 3
        second = await Raw.open(port)
        assert (await second.allocate(good)).message_class == stun.Class.RESPONSE
        third = await Raw.open(port)
        assert (await third.allocate(good)).error_code == 486
        fourth = await Raw.open(port)
        assert (await fourth.allocate(fresh("x"))).message_class == stun.Class.RESPONSE
        fifth = await Raw.open(port)
        assert (await fifth.allocate(fresh("y"))).error_code == 508
        # a malformed frame closes that connection, and only that one
        junk = await Raw.open(port)
        binding = await junk.ask(stun.Method.BINDING)                         # needs no credentials
        assert binding.attributes["XOR-MAPPED-ADDRESS"][0] == LOOPBACK
        junk.writer.write(b"\xff\xff\x00\x04abcd")
        assert await asyncio.wait_for(junk.reader.read(), 5) == b""
        refresh = await raw.ask(stun.Method.REFRESH, {"LIFETIME": 0}, good)    # deleting still works
        assert refresh.message_class == stun.Class.RESPONSE and refresh.attributes["LIFETIME"] == 0
        assert server.stats.allocations == 2
        for name in ("bad_credentials", "expired_credentials", "unsupported_transport", "forbidden_peer",
                     "quota", "capacity", "malformed", "no_allocation"):
            assert server.stats.refusals[name] >= 1, (name, server.stats.refusals)
        for connection in (raw, second, third, fourth, fifth):
            connection.close()
    finally:
        await server.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_unrefreshed_allocations_expire():
    now = [1000.0]
    server, port = await relay(clock=lambda: now[0])
    try:
        raw = await Raw.open(port)
        cred = fresh()
        assert (await raw.allocate(cred)).attributes["LIFETIME"] == 600
        assert server.stats.allocations == 1
        now[0] += 601
        await asyncio.sleep(5.5)       # the relay's sweep runs every 5 s
        assert server.stats.allocations == 0
        raw.close()
    finally:
        await server.close()
