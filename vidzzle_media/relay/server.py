"""A TURN relay (RFC 8656) for browsers whose network blocks UDP.

Clients reach it over TCP or TLS (RFC 8656 section 3.1); each connection
holds at most one allocation, whose relayed UDP socket sits on the address
the client connected to. It relays only to the peers ``allowed_peers()``
names (this host's own SFU addresses): it is never an open relay.

Messages over the stream are STUN (first two bits 00: 20-byte header plus
length) or ChannelData (first two bits 01: 4-byte header plus length, padded
to 4 bytes). Anything else closes the connection. Requests are answered
with the STUN errors of the RFC: 400 Bad Request, 401 Unauthorized (with
REALM and NONCE), 403 Forbidden (a peer that is not ours), 437 Allocation
Mismatch, 438 Stale Nonce, 442 Unsupported Transport Protocol, 486
Allocation Quota Reached (per credential), 508 Insufficient Capacity (in
total). Credentials are checked as in ``credentials.py``; an expired one
may not allocate, while an allocation made in time lives on as long as the
client refreshes it.

``RelayStats`` counts allocations, relayed bytes and refusals by reason for
``/metrics``.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import hmac
import ipaddress
import logging
import secrets
import socket
import ssl
import struct
import time
from dataclasses import dataclass, field
from typing import Callable

from aioice import stun
from aioice.turn import make_integrity_key

from . import credentials
from .shared_port import SharedPort

log = logging.getLogger(__name__)

UDP = 17
CHANNEL_MIN, CHANNEL_MAX = 0x4000, 0x4FFF
PERMISSION_LIFETIME_S = 300
CHANNEL_LIFETIME_S = 600
MAX_FRAME = 0xFFFF + 20


class Refusal(str, enum.Enum):
    """Why a request was refused (the label of the refusal counter)."""

    MALFORMED = "malformed"
    UNAUTHENTICATED = "unauthenticated"
    BAD_CREDENTIALS = "bad_credentials"
    EXPIRED = "expired_credentials"
    STALE_NONCE = "stale_nonce"
    FORBIDDEN_PEER = "forbidden_peer"
    NO_ALLOCATION = "no_allocation"
    TRANSPORT = "unsupported_transport"
    QUOTA = "quota"
    CAPACITY = "capacity"


ERRORS = {
    Refusal.MALFORMED: (400, "Bad Request"),
    Refusal.UNAUTHENTICATED: (401, "Unauthorized"),
    Refusal.BAD_CREDENTIALS: (401, "Unauthorized"),
    Refusal.EXPIRED: (401, "Unauthorized"),
    Refusal.STALE_NONCE: (438, "Stale Nonce"),
    Refusal.FORBIDDEN_PEER: (403, "Forbidden"),
    Refusal.NO_ALLOCATION: (437, "Allocation Mismatch"),
    Refusal.TRANSPORT: (442, "Unsupported Transport Protocol"),
    Refusal.QUOTA: (486, "Allocation Quota Reached"),
    Refusal.CAPACITY: (508, "Insufficient Capacity"),
}


@dataclass(frozen=True)
class RelayLimits:
    max_allocations: int = 500
    max_allocations_per_user: int = 8
    max_lifetime_s: int = 3600
    default_lifetime_s: int = 600


@dataclass
class RelayStats:
    allocations: int = 0
    """Open right now."""
    bytes_relayed: int = 0
    """Payload bytes relayed in both directions."""
    refusals: collections.Counter = field(default_factory=collections.Counter)
    """Refusal (its value) -> count."""


class Refused(Exception):
    def __init__(self, reason: Refusal):
        super().__init__(reason.value)
        self.reason = reason


class _RelaySocket(asyncio.DatagramProtocol):
    """The allocation's relayed UDP socket: what peers send arrives here."""

    def __init__(self, allocation: "Allocation"):
        self.allocation = allocation

    def datagram_received(self, data: bytes, addr) -> None:
        self.allocation.from_peer(data, (addr[0], addr[1]))


@dataclass
class Allocation:
    connection: "TurnConnection"
    username: str
    key: bytes
    """The long-term key of the credential that made it (every later request must use it)."""
    expires: float
    transport: asyncio.DatagramTransport | None = None
    relayed: tuple[str, int] = ("", 0)
    permissions: dict[str, float] = field(default_factory=dict)
    """Peer IP -> expiry."""
    channels: dict[int, tuple[tuple[str, int], float]] = field(default_factory=dict)
    """Channel number -> (peer, expiry)."""
    peer_channels: dict[tuple[str, int], int] = field(default_factory=dict)

    def permitted(self, ip: str, now: float) -> bool:
        return self.permissions.get(ip, 0) > now

    def from_peer(self, data: bytes, peer: tuple[str, int]) -> None:
        connection = self.connection
        now = connection.server.clock()
        if not self.permitted(peer[0], now):
            return
        channel = self.peer_channels.get(peer)
        if channel is not None and self.channels[channel][1] > now:
            frame = struct.pack("!HH", channel, len(data)) + data
            frame += bytes(stun.padding_length(len(data)))
        else:
            frame = bytes(stun.Message(stun.Method.DATA, stun.Class.INDICATION,
                                       attributes={"XOR-PEER-ADDRESS": peer, "DATA": data}))
        connection.server.stats.bytes_relayed += len(data)
        connection.write(frame)

    def to_peer(self, data: bytes, peer: tuple[str, int]) -> None:
        if self.transport is not None and self.permitted(peer[0], self.connection.server.clock()):
            self.connection.server.stats.bytes_relayed += len(data)
            self.transport.sendto(data, peer)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None


class TurnConnection(asyncio.Protocol):
    """One client connection (TCP or TLS) and its allocation, if any."""

    def __init__(self, server: "TurnServer"):
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.nonce = secrets.token_hex(16).encode("ascii")
        self.allocation: Allocation | None = None
        self.request_key: bytes | None = None
        """The key of the request being answered once it authenticated."""
        self.peer: tuple[str, int] = ("", 0)
        self.local: str = ""

    # -- stream -------------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername") or ("", 0)
        self.peer = (peer[0], peer[1])
        self.local = (transport.get_extra_info("sockname") or ("",))[0]
        self.server.connections.add(self)

    def connection_lost(self, exc) -> None:
        self.server.connections.discard(self)
        self.release()

    def write(self, frame: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) >= 4:
            kind = self.buffer[0] & 0xC0
            length = struct.unpack("!H", self.buffer[2:4])[0]
            if kind == 0x00:
                size = 20 + length
            elif kind == 0x40:
                size = 4 + length + stun.padding_length(length)
            else:
                self.fail("a frame that is neither STUN nor ChannelData")
                return
            if len(self.buffer) < size:
                return
            frame, self.buffer = self.buffer[:size], self.buffer[size:]
            if kind == 0x40:
                self.channel_data(frame, length)
            else:
                self.stun_frame(frame)

    def fail(self, why: str) -> None:
        self.server.refuse(Refusal.MALFORMED)
        # anyone can open connections: counted (refusals{malformed}), never one log line each
        log.debug("turn: closing the connection of %s: %s", self.peer[0], why)
        if self.transport is not None:
            self.transport.close()

    # -- requests -----------------------------------------------------------------------

    def stun_frame(self, frame: bytes) -> None:
        try:
            message = stun.parse_message(frame)
        except Exception as exc:   # aioice raises ValueError, struct.error, IndexError... on hostile bytes
            self.fail(f"an unreadable STUN message ({type(exc).__name__})")
            return
        if message.message_class == stun.Class.INDICATION:
            if message.message_method == stun.Method.SEND and self.allocation is not None:
                peer, data = message.attributes.get("XOR-PEER-ADDRESS"), message.attributes.get("DATA")
                if peer and data is not None:
                    self.allocation.to_peer(data, peer)
            return
        if message.message_class != stun.Class.REQUEST:
            return
        self.request_key = None
        try:
            response, key = self.answer(message)
        except Refused as refused:
            self.server.refuse(refused.reason)
            # an authenticated request gets a signed error (clients discard unsigned ones), except 401/438
            key = self.request_key if ERRORS[refused.reason][0] not in (401, 438) else None
            response = self.error(message, refused.reason)
        if key is not None:
            response.add_message_integrity(key)
        else:
            response.add_fingerprint()
        self.write(bytes(response))

    def error(self, request: stun.Message, reason: Refusal) -> stun.Message:
        response = stun.Message(request.message_method, stun.Class.ERROR, request.transaction_id,
                                attributes={"ERROR-CODE": ERRORS[reason]})
        if ERRORS[reason][0] in (401, 438):
            response.attributes["REALM"] = self.server.realm
            response.attributes["NONCE"] = self.nonce
        return response

    def success(self, request: stun.Message, **attributes) -> stun.Message:
        return stun.Message(request.message_method, stun.Class.RESPONSE, request.transaction_id,
                            attributes={k.replace("_", "-"): v for k, v in attributes.items()})

    def answer(self, request: stun.Message) -> tuple[stun.Message, bytes | None]:
        method = request.message_method
        if method == stun.Method.BINDING:
            return self.success(request, XOR_MAPPED_ADDRESS=self.peer), None
        if method == stun.Method.ALLOCATE:
            return self.allocate(request)
        allocation = self.allocation
        if allocation is None:
            raise Refused(Refusal.NO_ALLOCATION)
        key = self.authenticate(request, allocation.username)
        now = self.server.clock()
        if method == stun.Method.REFRESH:
            lifetime = self.server.lifetime(request.attributes.get("LIFETIME"))
            if request.attributes.get("LIFETIME") == 0:
                lifetime = 0
                self.release()
            else:
                allocation.expires = now + lifetime
            return self.success(request, LIFETIME=lifetime), key
        if method == stun.Method.CREATE_PERMISSION:
            peer = request.attributes.get("XOR-PEER-ADDRESS")
            if not peer:
                raise Refused(Refusal.MALFORMED)
            self.check_peer(peer[0])
            allocation.permissions[peer[0]] = now + PERMISSION_LIFETIME_S
            return self.success(request), key
        if method == stun.Method.CHANNEL_BIND:
            channel, peer = request.attributes.get("CHANNEL-NUMBER"), request.attributes.get("XOR-PEER-ADDRESS")
            if channel is None or not peer or not CHANNEL_MIN <= channel <= CHANNEL_MAX:
                raise Refused(Refusal.MALFORMED)
            self.check_peer(peer[0])
            bound = allocation.channels.get(channel)
            if (bound and bound[0] != peer) or allocation.peer_channels.get(peer, channel) != channel:
                raise Refused(Refusal.MALFORMED)
            allocation.channels[channel] = (peer, now + CHANNEL_LIFETIME_S)
            allocation.peer_channels[peer] = channel
            allocation.permissions[peer[0]] = now + PERMISSION_LIFETIME_S
            return self.success(request), key
        raise Refused(Refusal.MALFORMED)

    def authenticate(self, request: stun.Message, username: str | None = None) -> bytes:
        """The request's long-term key once its credential, nonce and integrity check out."""
        attrs = request.attributes
        if "MESSAGE-INTEGRITY" not in attrs or "USERNAME" not in attrs:
            raise Refused(Refusal.UNAUTHENTICATED)
        name = attrs["USERNAME"]
        if username is not None and name != username:
            raise Refused(Refusal.BAD_CREDENTIALS)
        key = make_integrity_key(name, self.server.realm, credentials.password_for(self.server.secret, name))
        if attrs.get("REALM") != self.server.realm or not request.check_message_integrity(key):
            raise Refused(Refusal.BAD_CREDENTIALS)
        if not hmac.compare_digest(attrs.get("NONCE", b""), self.nonce):
            raise Refused(Refusal.STALE_NONCE)
        if username is None:
            expires = credentials.expiry(name)
            if expires is None or expires < self.server.wall_clock():
                raise Refused(Refusal.EXPIRED)
        self.request_key = key
        return key

    def allocate(self, request: stun.Message) -> tuple[stun.Message, bytes]:
        if self.allocation is not None:
            raise Refused(Refusal.NO_ALLOCATION)   # one allocation per connection (RFC 8656 section 7.2)
        key = self.authenticate(request)
        if request.attributes.get("REQUESTED-TRANSPORT", 0) >> 24 != UDP:
            raise Refused(Refusal.TRANSPORT)
        username = request.attributes["USERNAME"]
        server = self.server
        if server.stats.allocations >= server.limits.max_allocations:
            raise Refused(Refusal.CAPACITY)
        if server.by_user[username] >= server.limits.max_allocations_per_user:
            raise Refused(Refusal.QUOTA)
        lifetime = server.lifetime(request.attributes.get("LIFETIME"))
        allocation = Allocation(self, username, key, server.clock() + lifetime)
        self.allocation = allocation
        server.opened(allocation)
        server.bind(allocation, self.local)
        return self.success(request, XOR_RELAYED_ADDRESS=allocation.relayed, XOR_MAPPED_ADDRESS=self.peer,
                            LIFETIME=lifetime), key

    def check_peer(self, ip: str) -> None:
        if ip not in self.server.allowed_peers():
            raise Refused(Refusal.FORBIDDEN_PEER)

    def channel_data(self, frame: bytes, length: int) -> None:
        allocation = self.allocation
        if allocation is None:
            return
        channel = struct.unpack("!H", frame[:2])[0]
        bound = allocation.channels.get(channel)
        if bound is not None and bound[1] > self.server.clock():
            allocation.to_peer(frame[4:4 + length], bound[0])

    def release(self) -> None:
        if self.allocation is not None:
            self.server.closed(self.allocation)
            self.allocation.close()
            self.allocation = None


class TurnServer:
    """Owns the connections, the allocation bookkeeping and (on a port of its own) the listener."""

    def __init__(self, secret: bytes, allowed_peers: Callable[[], set[str]], *, realm: str = "vidzzle",
                 limits: RelayLimits = RelayLimits(), clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time):
        self.secret = secret
        self.allowed_peers = allowed_peers
        self.realm = realm
        self.limits = limits
        self.clock = clock
        self.wall_clock = wall_clock
        self.stats = RelayStats()
        self.by_user: collections.Counter = collections.Counter()
        self.connections: set[TurnConnection] = set()
        self._listeners: list[SharedPort] = []
        self._tasks: set[asyncio.Task] = set()

    def lifetime(self, requested: int | None) -> int:
        if not requested:
            return self.limits.default_lifetime_s
        return max(60, min(int(requested), self.limits.max_lifetime_s))

    def refuse(self, reason: Refusal) -> None:
        self.stats.refusals[reason.value] += 1

    def opened(self, allocation: Allocation) -> None:
        self.stats.allocations += 1
        self.by_user[allocation.username] += 1

    def closed(self, allocation: Allocation) -> None:
        self.stats.allocations -= 1
        self.by_user[allocation.username] -= 1
        if self.by_user[allocation.username] <= 0:
            del self.by_user[allocation.username]

    def bind(self, allocation: Allocation, local_ip: str) -> None:
        """Open the relayed UDP socket on the address the client reached us at (a socket, not yet a transport)."""
        family = socket.AF_INET6 if ipaddress.ip_address(local_ip).version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.bind((local_ip, 0))
        sock.setblocking(False)
        allocation.relayed = sock.getsockname()[:2]
        self._spawn(self._attach(allocation, sock))

    async def _attach(self, allocation: Allocation, sock: socket.socket) -> None:
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: _RelaySocket(allocation), sock=sock)
        if allocation.connection.allocation is allocation:
            allocation.transport = transport
        else:
            transport.close()

    # -- running ---------------------------------------------------------------------

    def protocol(self) -> TurnConnection:
        """The protocol of one client connection (for shared_port.SharedPort)."""
        return TurnConnection(self)

    def start(self) -> None:
        """Begin closing allocations nobody refreshes (``listen`` does it; on the shared port, the caller)."""
        self._spawn(self._expire())

    async def listen(self, host: str, port: int, tls: ssl.SSLContext | None) -> int:
        """Serve TURN over TCP, and over TLS when ``tls`` is given, on a port of its own."""
        listener = SharedPort(None, self.protocol, tls)
        self._listeners.append(listener)
        bound = await listener.listen(host, port)
        self.start()
        return bound

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _expire(self) -> None:
        """Close allocations nobody refreshed."""
        while True:
            await asyncio.sleep(5)
            now = self.clock()
            for connection in list(self.connections):
                if connection.allocation is not None and connection.allocation.expires <= now:
                    connection.release()

    async def close(self) -> None:
        for listener in self._listeners:
            await listener.close()
        for task in list(self._tasks):
            task.cancel()
        for connection in list(self.connections):
            if connection.transport is not None:
                connection.transport.close()
            connection.release()

