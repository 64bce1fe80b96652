"""One TCP port for HTTPS and for TURN over TCP and TLS.

A network that lets nothing but HTTPS out still lets the browser reach the
server's HTTPS port, so the relay answers there too (docs/signalling.md,
"Media when UDP is blocked"). Each accepted connection is classified by its
first bytes, then handed to the protocol that serves it:

- first byte 0x16 (a TLS ClientHello): the TLS handshake is done, then the
  first decrypted byte decides — an HTTP request starts with a letter, a
  STUN message (TURN always opens with one) with 0x00 or 0x01;
- otherwise the first plain byte decides the same way: TURN over plain TCP,
  or plain HTTP only when TLS is off (behind a proxy); with TLS on, a plain
  HTTP request is closed, never served.

The protocols are plain asyncio protocol factories: ``http`` is aiohttp's
``AppRunner.server`` and ``turn`` the relay's ``TurnServer.protocol``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from typing import Callable

log = logging.getLogger(__name__)

SNIFF_TIMEOUT_S = 10.0
ProtocolFactory = Callable[[], asyncio.Protocol]


def is_turn(first: int) -> bool:
    """A STUN message starts with 0x00 or 0x01, an HTTP request with a letter. (A TURN
    connection opens with Allocate, a STUN request: ChannelData never comes first.)"""
    return first < 0x02


class _Sniffer(asyncio.Protocol):
    """Holds a fresh TLS connection until its first decrypted bytes say what it is."""

    def __init__(self, port: "SharedPort"):
        self.port = port
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if transport is None:       # asyncio calls connection_made first
            return
        factory = self.port.turn if self.port.turn is not None and is_turn(data[0]) else self.port.http
        if factory is None:
            transport.close()
            return
        protocol = factory()
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        protocol.data_received(data)

    def eof_received(self):
        return None


class SharedPort:
    """Listens on one address and port and classifies every connection."""

    def __init__(self, http: ProtocolFactory | None, turn: ProtocolFactory | None, tls: ssl.SSLContext | None):
        self.http = http
        self.turn = turn
        self.tls = tls
        self._sockets: list[socket.socket] = []
        self._tasks: set[asyncio.Task] = set()
        self._warned_at = -60.0

    async def listen(self, host: str, port: int) -> int:
        """Start accepting; the bound port (``port`` 0: a free one). OSError when the port is taken."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.create_server((host, port), family=family, backlog=128)
        sock.setblocking(False)
        self._sockets.append(sock)
        self._spawn(self._accept(sock))
        return sock.getsockname()[1]

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _ = await loop.sock_accept(sock)
            except OSError as exc:   # e.g. too many open files: keep serving the others
                now = loop.time()
                if now - self._warned_at >= 60:       # at most one line a minute
                    self._warned_at = now
                    log.warning("accept failed: %s", exc)
                await asyncio.sleep(0.1)
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._spawn(self._start(conn))

    async def _start(self, conn: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            first = await asyncio.wait_for(first_byte(conn), SNIFF_TIMEOUT_S)
            if not first:
                conn.close()
            elif first[0] == 0x16 and self.tls is not None:
                await loop.connect_accepted_socket(lambda: _Sniffer(self), conn, ssl=self.tls,
                                                   ssl_handshake_timeout=SNIFF_TIMEOUT_S)
            else:   # plain: TURN over TCP, or HTTP only when TLS is off (never plain HTTP beside HTTPS)
                factory = self.turn if self.turn is not None and is_turn(first[0]) else (
                    self.http if self.tls is None else None)
                if factory is None:
                    conn.close()
                else:
                    await loop.connect_accepted_socket(factory, conn)
        except (OSError, asyncio.TimeoutError, ssl.SSLError) as exc:
            log.debug("connection dropped before it started: %s", exc)
            conn.close()

    async def close(self) -> None:
        """Stop accepting (open connections belong to their protocols)."""
        for sock in self._sockets:
            sock.close()
        for task in list(self._tasks):
            task.cancel()


async def first_byte(conn: socket.socket) -> bytes:
    """The connection's first byte, left in the socket (MSG_PEEK)."""
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    loop.add_reader(conn.fileno(), lambda: None if ready.done() else ready.set_result(None))
    try:
        await ready
    finally:
        loop.remove_reader(conn.fileno())
    return conn.recv(1, socket.MSG_PEEK)
