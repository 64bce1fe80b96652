"""What a second node costs a call: two ``vidzzle-media serve`` processes on
one PostgreSQL, one agent logged in on each (issue 31).

    python bench/nodes.py --pg-admin postgresql://USER@127.0.0.1:PORT/postgres [--calls 40] [--json FILE]

``--pg-admin``: a PostgreSQL server where this may create (and then drops) a
database of its own (``scripts/postgres-for-tests`` starts a throwaway one
and prints its URL). Every customer starts a call on node A. Per call, in
one sitting, the same measurement for the agent on A (the call's node) and
the agent on B (another node):

- ``ring``: the customer's POST /api/calls sent -> ``ringing`` on the
  agent's back-office socket (B's is pushed over NOTIFY);
- ``accept``: the agent's ``accept`` sent -> its ``result`` (calls
  alternate: even ones accepted on A, odd ones on B, whose accept also has
  to reach A);
- ``join``: the room WebSocket's ``join`` -> ``joined``: the customer's on
  A, the agent's on the node it is on (from B it is forwarded to A).

Only signalling: the media goes to the room's node whichever node the
browser is on, so it costs the same (bench/capacity.py). The clock is one
machine's; the nodes and this script share its 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402

from vidzzle_media.services.accounts.passwords import hash_password  # noqa: E402
from vidzzle_media.services.tenancy import flows as flow_service  # noqa: E402
from vidzzle_media.services.tenancy import groups as group_service  # noqa: E402
from vidzzle_media.store import PostgresDatabase  # noqa: E402
from vidzzle_media.store import accounts as account_store  # noqa: E402
from vidzzle_media.store import tenants as tenant_store  # noqa: E402
from vidzzle_media.store.database import utcnow  # noqa: E402

PASSWORD = "bench-only-Passw0rd!"
ALL_WEEK = {f"{d}_{k}": v for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
            for k, v in (("start", "00:00"), ("end", "23:59"))}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(tmp: Path, name: str, url: str, log_level: str) -> tuple[str, subprocess.Popen]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDZZLE_")}
    env.update({"VIDZZLE_DATABASE_URL": url, "VIDZZLE_SERVER_PUBLIC_URL": base, "VIDZZLE_SERVER_NODE_URL": base,
                "VIDZZLE_TLS_ENABLED": "false", "VIDZZLE_ICE_HOST_ADDRESSES": "127.0.0.1",
                "VIDZZLE_RELAY_ENABLED": "false", "VIDZZLE_SERVER_LOG_LEVEL": log_level,
                "VIDZZLE_SECURITY_RINGING_CALLS_PER_ADDRESS": "1000"})
    process = subprocess.Popen([sys.executable, "-m", "vidzzle_media", "serve", "--host", "127.0.0.1", "--port",
                                str(port), "--data-dir", str(tmp / name)], cwd=tmp, env=env,
                               stdout=(tmp / f"{name}.log").open("wb"), stderr=subprocess.STDOUT)
    return base, process


async def up(session: aiohttp.ClientSession, base: str) -> None:
    for _ in range(150):
        try:
            async with session.get(base + "/healthz") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{base} did not come up")


async def seed(db: PostgresDatabase) -> tuple[str, list[str]]:
    """A tenant, two agents in one group, a flow ringing it for a minute: (embed id, emails)."""
    async with db.transaction() as conn:
        tenant = await tenant_store.insert_tenant(conn, name="Bench Cars", street="", zip="", city="",
                                                  email="info@bench.example", timezone="Europe/Berlin",
                                                  now=utcnow(), language="en")
    phc = await hash_password(PASSWORD)
    emails, ids = [], []
    async with db.transaction() as conn:
        for i in range(2):
            email = f"agent{i}@bench.example"
            uid = await account_store.insert_user(conn, tenant_id=tenant, role="user", name=f"Agent {i}", email=email,
                                                  mobile="", now=utcnow(), locked=False)
            await account_store.set_password_hash(conn, uid, phc, unlock=True)
            emails.append(email)
            ids.append(uid)
    group = await group_service.create_group(db, tenant, {"name": "Sales", "members": [str(i) for i in ids]})
    flow_id = await flow_service.create_flow(db, tenant, {
        "name": "Sales", **ALL_WEEK, "exit_url": "https://bench.example/exit",
        "out_of_hours_url": "https://bench.example/closed", "escalation_url": "https://bench.example/sorry",
        "group_0": str(group), "ring_0": "60"})
    return (await flow_service.get_flow(db, tenant, flow_id)).embed_id, emails


class Agent:
    """An agent's back office on one node: a logged-in session and its socket."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.inbox: asyncio.Queue[tuple[float, dict]] = asyncio.Queue()

    async def login(self, email: str) -> None:
        async with self.session.get(self.base + "/admin/login") as resp:
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', await resp.text()).group(1)
        async with self.session.post(self.base + "/admin/login", data={
                "email": email, "password": PASSWORD, "csrf_token": csrf}) as resp:
            assert resp.status == 200 and "/admin/login" not in resp.url.path, "login failed"
        self.ws = await self.session.ws_connect(self.base + "/ws/agent")
        asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            self.inbox.put_nowait((time.perf_counter(), json.loads(msg.data)))

    async def next(self, kind: str) -> tuple[float, dict]:
        while True:
            at, message = await asyncio.wait_for(self.inbox.get(), 10)
            if message["type"] == kind:
                return at, message

    async def send(self, message: dict) -> None:
        assert self.ws is not None
        await self.ws.send_json(message)


async def join(session: aiohttp.ClientSession, base: str, token: str) -> tuple[float, aiohttp.ClientWebSocketResponse]:
    ws = await session.ws_connect(base + "/ws/room")
    sent = time.perf_counter()
    await ws.send_json({"type": "join", "token": token})
    while True:
        message = await ws.receive_json(timeout=10)
        if message["type"] == "joined":
            return (time.perf_counter() - sent) * 1000, ws
        if message["type"] == "error":
            raise RuntimeError(message)


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"n": len(ordered), "median_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(ordered[max(0, int(len(ordered) * 0.95) - 1)], 2), "max_ms": round(ordered[-1], 2)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-admin", default=os.environ.get("VIDZZLE_TEST_PG_ADMIN", ""))
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--log-level", default="WARNING", help="of the nodes (their logs: a.log, b.log in the temporary folder printed)")
    args = parser.parse_args()
    if not args.pg_admin:
        parser.error("--pg-admin (or VIDZZLE_TEST_PG_ADMIN) is needed: scripts/postgres-for-tests starts one")
    name = f"bench_nodes_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(args.pg_admin)
    await admin.execute(f"CREATE DATABASE {name}")
    url = args.pg_admin.rsplit("/", 1)[0] + "/" + name
    tmp = Path(tempfile.mkdtemp(prefix="vidzzle-nodes-"))
    print(f"nodes' folders and logs: {tmp}", file=sys.stderr)
    nodes = []
    results: dict[str, dict[str, list[float]]] = {k: {"A": [], "B": []} for k in ("ring", "accept", "join")}
    try:
        db = PostgresDatabase(url, files_dir=tmp)
        await db.open()
        embed, emails = await seed(db)
        nodes = [serve(tmp, "a", url, args.log_level), serve(tmp, "b", url, args.log_level)]
        (a, _), (b, _) = nodes
        customer = aiohttp.ClientSession()
        for base in (a, b):
            await up(customer, base)
        agents = {"A": Agent(a), "B": Agent(b)}
        for agent, email in zip(agents.values(), emails, strict=True):
            await agent.login(email)
        await asyncio.sleep(3)          # both nodes heard of each other's agents
        for n in range(args.calls):
            # each customer from an address of its own (127.0.0.x): the call API allows 10 starts a minute per address
            own = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(f"127.0.0.{10 + n % 240}", 0)))
            sent = time.perf_counter()
            async with own.post(a + "/api/calls", json={"embed_id": embed, "name": f"C{n}"}) as resp:
                call = await resp.json()
            await own.close()
            for side, agent in agents.items():
                at, _ = await agent.next("ringing")
                results["ring"][side].append((at - sent) * 1000)
            side = "A" if n % 2 == 0 else "B"
            sent = time.perf_counter()
            await agents[side].send({"type": "accept", "call_id": call["call_id"]})
            at, result = await agents[side].next("result")
            assert result["ok"], result
            results["accept"][side].append((at - sent) * 1000)
            join_customer, ws_c = await join(customer, a, call["room_token"])
            join_agent, ws_a = await join(customer, agents[side].base, result["room_token"])
            results["join"]["A"].append(join_customer)
            results["join"][side].append(join_agent)           # from B: forwarded to A
            await agents[side].send({"type": "hangup", "call_id": call["call_id"]})
            await agents[side].next("result")
            for ws in (ws_c, ws_a):
                await ws.close()
        await customer.close()
        for agent in agents.values():
            await agent.session.close()
        await db.close()
    finally:
        for _, process in nodes:
            process.terminate()
            process.wait(timeout=20)
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
    out = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                      f"Python {platform.python_version()}", "calls": args.calls,
           **{k: {side: summary(v) for side, v in sides.items() if v} for k, sides in results.items()}}
    print("| step | agent on A (the call's node) median / p95 ms | agent on B (another node) median / p95 ms |")
    print("|---|---|---|")
    for step in ("ring", "accept", "join"):
        a_, b_ = out[step].get("A"), out[step].get("B")
        print(f"| {step} | {a_['median_ms']} / {a_['p95_ms']} | {b_['median_ms']} / {b_['p95_ms']} |")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
