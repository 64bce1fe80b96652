"""Fixtures of the outbox tests: an injected clock, an open database, a
worker driven by hand, and a real local HTTP peer (gateway / webhook target)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pgstore
import pytest
from aiohttp import web

from vidzzle_media import senders
from vidzzle_media.services.outbox.worker import OutboxWorker
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


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def db(settings):
    database = pgstore.database(settings)
    await database.open()
    try:
        yield database
    finally:
        await database.close()


@pytest.fixture
async def tenant(db, clock) -> int:
    """A tenant with complete dealer data (values contain characters HTML must escape), English
    so that the built-in texts are the English msgids the tests compare with."""
    return await db.execute(
        "INSERT INTO tenants (name, street, zip, city, email, created_at, language) VALUES (?, ?, ?, ?, ?, ?, 'en')",
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
        if "senders" not in kwargs:
            kwargs.setdefault("sender_source", senders.OutboxSenders(database or db, settings))
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
