"""R-OPS-3 with a real server process: kill -9 in the middle of an accepted
call, restart, and check that the call is closed as interrupted and that
every queued mail and webhook is delivered exactly once more, while the ones
confirmed before the crash are not sent again. Also SIGTERM: rooms end with
a reason and the process exits 0."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import aiohttp
import pytest
from admin.helpers import LOOPBACK, Browser, make_tenant, make_user
from aiohttp import web
from api.world import make_agents, make_flow, make_group
from smtpcapture import free_port, start_smtp

from vidzzle_media.services.tenancy import webhook_settings
from vidzzle_media.store import Database
from vidzzle_media.store.outbox import iso

SUPPORT_EMAIL = "support@crash.example"


class HookTarget:
    """A real local webhook receiver recording each delivery."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append({"path": request.path, **json.loads(await request.text())})
        return web.Response(text="ok")

    async def start(self) -> "HookTarget":
        app = web.Application()
        app.router.add_post("/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        return self


def server_env(data_dir, port, smtp_port) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDZZLE_")}
    env.update({
        "VIDZZLE_TLS_ENABLED": "false", "VIDZZLE_SERVER_HOST": "127.0.0.1", "VIDZZLE_SERVER_PORT": str(port),
        "VIDZZLE_SERVER_DATA_DIR": str(data_dir), "VIDZZLE_SERVER_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "VIDZZLE_SMTP_HOST": "127.0.0.1", "VIDZZLE_SMTP_PORT": str(smtp_port), "VIDZZLE_SMTP_SECURITY": "none",
        "VIDZZLE_ICE_HOST_ADDRESSES": "127.0.0.1", "VIDZZLE_OUTBOUND_ALLOW": "127.0.0.0/8",
    })
    return env


async def start_server(env, cwd) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "vidzzle_media", "serve"], env=env, cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{env['VIDZZLE_SERVER_PORT']}/healthz"
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            try:
                async with session.get(url) as resp:
                    if resp.status == 200:
                        return proc
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not start")


def query(db_path, sql, params=()):
    """Read the live database file like an operator would (read-only)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


async def until(check, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@pytest.fixture
async def seeded(tmp_path):
    """A tenant with one agent (mail notifications on), a flow and webhooks."""
    target = await HookTarget().start()
    db = Database(tmp_path / "data" / "vidzzle.db")
    await db.open()
    tenant = await make_tenant(db, "Crash Cars")
    agents = await make_agents(db, tenant, 1, notify_email=True)
    group = await make_group(db, tenant, "Sales", agents)
    embed = await make_flow(db, tenant, [(group, 120)])
    await make_user(db, tenant_id=None, role="support", email=SUPPORT_EMAIL)
    await webhook_settings.save_settings(db, tenant, {"start_url": target.url + "/start", "start_headers": "",
                                                      "end_url": target.url + "/end", "end_headers": ""}, policy=LOOPBACK)
    await db.close()
    yield tmp_path, embed, f"agent0.t{tenant}@example.com", target
    await target.runner.cleanup()


async def test_kill_9_mid_call_then_restart_delivers_exactly_once(seeded):
    tmp_path, embed, agent_email, target = seeded
    db_path = tmp_path / "data" / "vidzzle.db"
    port, smtp_port = free_port(), free_port()
    env = server_env(tmp_path / "data", port, smtp_port)
    base = f"http://127.0.0.1:{port}"
    # SMTP is down during the call: the notification mail must wait in the outbox.
    server = await start_server(env, tmp_path)
    agent = Browser(base + "/")
    try:
        async with aiohttp.ClientSession() as customer:
            async with customer.post(base + "/api/calls", json={"embed_id": embed, "name": "Erika"}) as resp:
                assert resp.status == 201, await resp.text()
                call_id = (await resp.json())["call_id"]
        assert (await agent.login(agent_email)).status == 200
        ws = await agent.session.ws_connect(base + "/ws/agent")
        assert (await ws.receive_json(timeout=5))["type"] == "hello"
        await ws.send_json({"type": "accept", "call_id": call_id})
        await until(lambda: query(db_path, "SELECT state FROM calls WHERE id = ?", (call_id,)) == [("accepted",)],
                    what="accepted")
        # the start webhook is delivered AND confirmed before the crash
        await until(lambda: query(db_path, "SELECT COUNT(*) FROM outbox WHERE kind = 'webhook' AND state = 'sent'")
                    == [(1,)], what="start webhook confirmed")
        assert query(db_path, "SELECT COUNT(*) FROM outbox WHERE kind = 'email' AND state = 'queued'") == [(1,)]
        await ws.close()
    finally:
        await agent.close()
        server.send_signal(signal.SIGKILL)
        server.wait(10)

    assert query(db_path, "SELECT state FROM calls WHERE id = ?", (call_id,)) == [("accepted",)]
    controller, mails = start_smtp(smtp_port)
    server = await start_server(env, tmp_path)
    try:
        await until(lambda: query(db_path, "SELECT state FROM calls WHERE id = ?", (call_id,)) == [("ended",)],
                    what="call closed")
        await until(lambda: len(target.bodies) == 2, what="end webhook")
        # the mail failed once while SMTP was down and keeps its backoff across the restart;
        # the operator's "Send again" (outbox page) makes it due now
        assert query(db_path, "SELECT state, attempts FROM outbox WHERE kind = 'email'") == [("queued", 1)]
        assert len(mails.messages) == 0
        assert await agent_retry(base, db_path)
        await mails.wait(1, timeout=15)
        await asyncio.sleep(1.0)   # anything sent twice would arrive by now
        assert [b["path"] for b in target.bodies] == ["/start", "/end"]
        assert target.bodies[1]["callid"] == call_id and target.bodies[1]["end"]
        assert len(mails.messages) == 1
        events = [json.loads(p) for (p,) in query(db_path, "SELECT payload FROM call_events WHERE call_id = ? "
                                                          "ORDER BY id", (call_id,))]
        assert events[-1].get("by") == "interrupted"
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(20) == 0
        controller.stop()


async def agent_retry(base: str, db_path) -> bool:
    """Support presses "Send again" on the outbox page for the queued mail."""
    (item,) = query(db_path, "SELECT id FROM outbox WHERE kind = 'email' AND state = 'queued'")
    support = Browser(base + "/")
    try:
        page = await support.login(SUPPORT_EMAIL)
        assert page.status == 200, page.text[-500:]
        page = await support.post(f"/admin/outbox/{item[0]}/retry", {})
        return page.status == 200
    finally:
        await support.close()


async def test_sigterm_ends_rooms_with_a_reason_and_exits_0(seeded):
    """A customer in a room with real aiortc peer connections is told
    'shutdown', its peer connections are closed by the server, exit code 0,
    and the call is closed as interrupted before the process ends."""
    from sfu.peers import Client
    from signalling.wspeer import WsPeer

    from vidzzle_media.sfu import DefaultIce, IcePolicy, aiortc_glue

    IcePolicy(DefaultIce())   # this process's aiortc client gathers on loopback too
    tmp_path, embed, _, target = seeded
    db_path = tmp_path / "data" / "vidzzle.db"
    port = free_port()
    env = server_env(tmp_path / "data", port, free_port())
    base = f"http://127.0.0.1:{port}"
    server = await start_server(env, tmp_path)
    session = aiohttp.ClientSession()
    peer = None
    try:
        async with session.post(base + "/api/calls", json={"embed_id": embed, "name": "Erika"}) as resp:
            call = await resp.json()
        client = Client()
        peer = WsPeer(await session.ws_connect(f"ws://127.0.0.1:{port}/ws/room"), client)
        await peer.join(call["room_token"], "Erika")
        await peer.publish()
        await until(lambda: client.publish_pc.connectionState == "connected", what="publish connected")
        server.send_signal(signal.SIGTERM)
        closed = await peer.expect("room_closed", timeout=10)
        assert closed["reason"] == "shutdown"
        await asyncio.wait_for(peer.closed.wait(), 10)
        assert await asyncio.to_thread(server.wait, 20) == 0
        # the server's side of the peer connection is gone: ICE consent fails on ours
        await until(lambda: client.publish_pc.connectionState in ("failed", "closed", "disconnected"),
                    timeout=40, what="peer connection to notice the server is gone")
    finally:
        if peer is not None:
            await peer.close()
        await session.close()
        aiortc_glue.set_host_addresses(None)
        if server.poll() is None:
            server.kill()
    # closed as interrupted by the graceful stop itself, with its end webhook queued
    assert query(db_path, "SELECT state, miss_reason FROM calls WHERE id = ?", (call["call_id"],)) \
        == [("missed", "interrupted")]
    # ... and delivered by the stop's outbox flush
    assert query(db_path, "SELECT state FROM outbox WHERE kind = 'webhook'") == [("sent",)]
    assert [(b["path"], b["callid"], b["start"]) for b in target.bodies] == [("/end", call["call_id"], "")]


class FailingTarget(HookTarget):
    """Answers every delivery with 500 (so the item waits out a backoff)."""

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append({"path": request.path})
        return web.Response(status=500)


async def test_backoff_survives_repeated_kill_9(tmp_path):
    """Only items a killed process had claimed are due again at start; an
    item waiting out its backoff keeps its schedule across restarts."""
    from vidzzle_media.services.outbox.webhooks import queue_webhook
    target = await FailingTarget().start()
    smtp, _ = start_smtp()
    db_path = tmp_path / "data" / "vidzzle.db"
    db = Database(db_path)
    await db.open()
    tenant = await make_tenant(db, "Backoff Cars")
    async with db.transaction() as conn:
        item = await queue_webhook(conn, tenant_id=tenant, url=target.url + "/hook", headers={}, body={"n": 1},
                                   secret="whsec_dGVzdA==", event="call.end")
    await db.close()
    env = server_env(tmp_path / "data", free_port(), smtp.port)
    try:
        proc = await start_server(env, tmp_path)
        await until(lambda: len(target.bodies) == 1, what="the first attempt")
        await until(lambda: query(db_path, "SELECT attempts FROM outbox WHERE id = ?", (item,))[0][0] == 1,
                    what="the attempt recorded")
        proc.kill()
        proc.wait(10)
        # a later backoff (the first one, 7.5-15 s, could end during these restarts on a slow machine)
        scheduled = iso(datetime.now(timezone.utc) + timedelta(hours=1))
        conn = sqlite3.connect(db_path)
        with conn:
            conn.execute("UPDATE outbox SET next_attempt_at = ? WHERE id = ?", (scheduled, item))
        conn.close()
        for _ in range(3):
            proc = await start_server(env, tmp_path)
            await asyncio.sleep(1.0)          # the worker's first pass has run
            proc.kill()
            proc.wait(10)
        proc = await start_server(env, tmp_path)
        await asyncio.sleep(1.0)
        assert len(target.bodies) == 1, target.bodies
        assert query(db_path, "SELECT attempts, next_attempt_at FROM outbox WHERE id = ?", (item,))[0] == (1, scheduled)
    finally:
        proc.kill()
        proc.wait(10)
        await target.runner.cleanup()
        smtp.stop()
