"""Two nodes: two ``vidzzle-media serve`` processes on 127.0.0.1, each with
its own port and data folder, sharing one PostgreSQL database, in real
Chromium. The customer's call button talks to node A; the agent works on
node B: the call rings there, the agent accepts there, and media flows both
ways (getStats on both pages), the agent's signalling forwarded by B to the
room on A. Then node B is killed while a call rings: the agent's other
session, on A, keeps ringing and takes the call.

Runs in the PostgreSQL browser run (scripts/test: VIDZZLE_TEST_STORE=postgres)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pgstore
import pytest
import pytest_asyncio
from aiohttp import web

from vidzzle_media.store import PostgresDatabase
from vidzzle_media.store import calls as call_store

from .conftest import Capture, free_port, host_app
from .helpers import _frames, agent_console, call_frame, click_call, media, team, toast, wait_media
from .test_incoming import customer_page
from .test_rejoin import frames_grow

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module"),
              pytest.mark.skipif(pgstore.admin_url() is None, reason="runs with the store on PostgreSQL "
                                 "(VIDZZLE_TEST_STORE=postgres: scripts/test's PostgreSQL browser run)")]


@dataclass
class Node:
    base: str
    process: subprocess.Popen
    log: Path


@dataclass
class Nodes:
    """What the helpers need of a world: the store, the dealer's page, node A as the call button's server."""

    db: PostgresDatabase
    a: Node
    b: Node
    host: str
    mails: Capture

    @property
    def base(self) -> str:
        return self.a.base

    def land(self, what: str) -> str:
        return f"{self.host}/land/{what}"


def _serve(tmp: Path, name: str, database_url: str, smtp_port: int) -> Node:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDZZLE_")}
    env.update({"VIDZZLE_DATABASE_URL": database_url, "VIDZZLE_SERVER_PUBLIC_URL": base,
                "VIDZZLE_SERVER_NODE_URL": base, "VIDZZLE_SERVER_LANGUAGE": "en", "VIDZZLE_TLS_ENABLED": "false",
                "VIDZZLE_ICE_HOST_ADDRESSES": "127.0.0.1", "VIDZZLE_RELAY_ENABLED": "false",
                "VIDZZLE_SMTP_HOST": "127.0.0.1", "VIDZZLE_SMTP_PORT": str(smtp_port), "VIDZZLE_SMTP_SECURITY": "none",
                "VIDZZLE_SECURITY_RINGING_CALLS_PER_ADDRESS": "1000"})
    log = tmp / f"{name}.log"
    process = subprocess.Popen([sys.executable, "-m", "vidzzle_media", "serve", "--host", "127.0.0.1",
                                "--port", str(port), "--data-dir", str(tmp / name)],
                               cwd=tmp, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    return Node(base, process, log)


async def _up(node: Node) -> None:
    for _ in range(150):
        assert node.process.poll() is None, node.log.read_text()[-3000:]
        try:
            await asyncio.to_thread(lambda: urllib.request.urlopen(node.base + "/healthz", timeout=2).close())
            return
        except OSError:
            await asyncio.sleep(0.2)
    raise AssertionError(f"node at {node.base} did not come up: {node.log.read_text()[-3000:]}")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def nodes(tmp_path_factory, smtp_server):
    tmp = tmp_path_factory.mktemp("e2e-nodes")
    url, drop = pgstore.empty_database("e2e_nodes_")
    a = _serve(tmp, "a", url, smtp_server.port)
    await _up(a)                    # A migrates the empty database; B finds it done
    b = _serve(tmp, "b", url, smtp_server.port)
    await _up(b)
    db = PostgresDatabase(url, files_dir=tmp)
    await db.open()
    host_port = free_port()
    runner = web.AppRunner(host_app(a.base))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", host_port).start()
    try:
        yield Nodes(db, a, b, f"http://localhost:{host_port}", smtp_server)
    finally:
        await runner.cleanup()
        await db.close()
        for node in (a, b):
            if node.process.poll() is None:
                node.process.terminate()
                node.process.wait(timeout=20)
        drop()


def on(world: Nodes, node: Node) -> Nodes:
    """The same world, with ``node`` as the server the helpers open pages on."""
    return Nodes(world.db, node, world.b, world.host, world.mails)


async def _agent_sees_ringing(page, call_id: str) -> None:
    await page.wait_for_selector(f".toast[data-call-id='{call_id}']", timeout=15000)
    assert await page.evaluate("window.vidzzleAgent.isRinging()")


async def test_a_customer_on_node_a_and_the_agent_on_node_b_see_each_other(chromium, nodes):
    _, _, emails, embed = await team(nodes, "Node Cars")
    actx, agent = await agent_console(chromium, on(nodes, nodes.b), emails[0])      # the agent: on B
    cctx, host = await customer_page(chromium, nodes, embed, name="Erika")          # the customer: on A
    await click_call(host)
    call_id = await toast(agent, timeout=15)
    assert "Erika" in await agent.text_content(f".toast[data-call-id='{call_id}']")
    frame = await call_frame(host)
    await frame.wait_for_selector("#v-wait:not([hidden])")
    await agent.click(f".toast[data-call-id='{call_id}'] .accept")
    await agent.wait_for_url(f"{nodes.b.base}/admin/call/{call_id}")      # the agent stays on B
    await frame.wait_for_selector("#v-call:not([hidden])", timeout=15000)
    await wait_media(agent, video=("camera",))
    await wait_media(frame, video=("camera",))
    await frames_grow(agent, _frames(await media(agent), "camera"))
    await frames_grow(frame, _frames(await media(frame), "camera"))

    assert (await call_store.get_call(nodes.db, call_id)).state == "accepted"
    # hang up on B: the customer on A lands on the exit page
    await agent.click("#hangup")
    await agent.wait_for_selector("#summary:not([hidden])")
    await host.wait_for_url(nodes.land("exit"), timeout=10000)
    assert (await call_store.get_call(nodes.db, call_id)).state == "ended"
    await actx.close()
    await cctx.close()


async def test_b_node_b_killed_mid_ring_the_agents_session_on_a_takes_the_call(chromium, nodes):
    _, _, emails, embed = await team(nodes, "Failover Cars")
    bctx, on_b = await agent_console(chromium, on(nodes, nodes.b), emails[0])
    actx, on_a = await agent_console(chromium, nodes, emails[0])             # the same agent, also on A
    cctx, host = await customer_page(chromium, nodes, embed, name="Max")
    await click_call(host)
    call_id = await toast(on_b, timeout=15)
    await _agent_sees_ringing(on_a, call_id)

    os.kill(nodes.b.process.pid, signal.SIGKILL)
    nodes.b.process.wait(timeout=10)
    # A finds B gone (its agents' sockets with it) and rings on: the session on A still rings
    await asyncio.sleep(8)
    await _agent_sees_ringing(on_a, call_id)
    assert (await call_store.get_call(nodes.db, call_id)).state == "ringing"
    await on_a.click(f".toast[data-call-id='{call_id}'] .accept")
    await on_a.wait_for_url(f"{nodes.a.base}/admin/call/{call_id}")
    frame = await call_frame(host)
    await frame.wait_for_selector("#v-call:not([hidden])", timeout=15000)
    await wait_media(on_a, video=("camera",))
    await wait_media(frame, video=("camera",))
    await frame.click("#hangup")
    await host.wait_for_url(nodes.land("exit"), timeout=10000)
    for ctx in (actx, bctx, cctx):
        await ctx.close()
