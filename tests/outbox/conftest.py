"""Fixtures of the outbox tests: an injected clock, an open database, a
worker driven by hand, and a real local HTTP peer (gateway / webhook target)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import asyncio
import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from vidzzle_media.services.outbox import OutboxWorker
from vidzzle_media.store import Database


class FakeClock:
    """The injected clock: time moves only when a test says so."""

    def __init__(self, start: datetime = datetime(2025, 3, 1, 12, 0, tzinfo=timezone.utc)):
        self.moment = start

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class MailCapture:
    """Messages received by a test SMTP server, parsed."""

    messages: list[EmailMessage] = field(default_factory=list)
    arrived: asyncio.Event | None = None
    loop: asyncio.AbstractEventLoop | None = None
    """the test's loop (the SMTP server runs in its own thread and loop)"""

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        if self.arrived is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(self.arrived.set)
        return "250 OK"

    async def wait(self, count: int = 1, timeout: float = 10.0) -> list[EmailMessage]:
        loop = self.loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.messages) < count:
            if loop.time() > deadline:
                raise AssertionError(f"expected {count} mails, got {len(self.messages)}")
            self.arrived = asyncio.Event()
            try:
                await asyncio.wait_for(self.arrived.wait(), max(0.01, deadline - loop.time()))
            except asyncio.TimeoutError:
                pass
        return self.messages


def start_smtp(port: int, handler=None) -> tuple[Controller, MailCapture]:
    """A real aiosmtpd server on 127.0.0.1:port (aiosmtpd 1.4 cannot start on port 0)."""
    capture = MailCapture()
    controller = Controller(handler or capture, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, capture


@pytest.fixture
def smtp_server(settings):
    """Overrides the root fixture, whose Controller(port=0) cannot start with aiosmtpd 1.4
    (its start-up probe connects to port 0) and whose capture calls the non-existent
    ``Event.get_loop()`` (the handler then fails after storing the mail): same interface."""
    controller, capture = start_smtp(free_port())
    settings.smtp.host = "127.0.0.1"
    settings.smtp.port = controller.port
    settings.smtp.security = "none"
    try:
        yield capture
    finally:
        controller.stop()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def db(settings):
    database = Database(settings.database_path)
    await database.open()
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def tenant(db, clock) -> int:
    """A tenant with complete dealer data (values contain characters HTML must escape)."""
    return await db.execute(
        "INSERT INTO tenants (name, street, zip, city, email, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        ("Müller & Söhne <Autohaus>", "Hauptstraße 1", "10115", "Berlin", "info@mueller.example",
         clock().isoformat()),
    )


@pytest.fixture
async def make_worker(db, settings, clock):
    """Build workers on the test database with the fake clock and maximal jitter (rand = 1)."""
    workers: list[OutboxWorker] = []

    async def make(*, run_loops: bool = False, database: Database | None = None, **kwargs) -> OutboxWorker:
        kwargs.setdefault("now", clock)
        kwargs.setdefault("rand", lambda: 1.0)
        worker = OutboxWorker(database or db, settings, **kwargs)
        await worker.start(run_loops=run_loops)
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        await worker.stop()


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpPeer:
    """A real local HTTP server: records every request, answers with programmed statuses."""

    statuses: list[int] = field(default_factory=list)
    """answers for the next requests (then 200)"""
    requests: list[Recorded] = field(default_factory=list)
    url: str = ""
    holds: dict[str, asyncio.Event] = field(default_factory=dict)
    """path -> event: requests to that path are recorded, then answered only once it is set"""

    def make_url(self, path: str) -> str:
        return self.url + path

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Recorded(request.method, request.path_qs, dict(request.headers), await request.read()))
        if request.path in self.holds:
            await self.holds[request.path].wait()
        if request.path == "/redirect":
            raise web.HTTPFound(location="/landed")
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status, text="ok" if status < 400 else "nope")

    def hits(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.split("?")[0] == path]


@pytest.fixture
async def http_peer(aiohttp_server) -> HttpPeer:
    peer = HttpPeer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", peer.handle)
    server = await aiohttp_server(app, host="127.0.0.1")
    peer.url = str(server.make_url("")).rstrip("/")
    return peer
