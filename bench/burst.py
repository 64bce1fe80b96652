#!/usr/bin/env python3
"""A burst of customers: N start a call within a few seconds, each from its
own loopback address (127.0.0.2 ...), against a real server process (no
agent online: every call keeps ringing; the tenant has a presentation, so
every room renders its first page as video, as in production). Measures /healthz latency during
the burst (p50/p95/max, polled every 50 ms) and the server's RSS per ringing
room. Writes bench/results/burst.json.

    python3 bench/burst.py [--customers 200] [--seconds 12]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def seed(data: Path) -> str:
    from admin.helpers import make_tenant
    from api.world import make_agents, make_flow, make_group
    from e2e.helpers import demo_pdf

    from vidzzle_media.services.branding import presentations
    from vidzzle_media.store import Database
    db = Database(data / "vidzzle.db")
    await db.open()
    try:
        tenant = await make_tenant(db, "Burst Cars")
        await presentations.upload(db, tenant, demo_pdf(), filename="deck.pdf")   # every room shows it
        agents = await make_agents(db, tenant, 1)
        return await make_flow(db, tenant, [(await make_group(db, tenant, "Sales", agents), 120)])
    finally:
        await db.close()


async def main_async(customers: int, seconds: float) -> dict:
    work = Path(tempfile.mkdtemp(prefix="vidzzle-burst-"))
    (work / "data").mkdir()
    embed = await seed(work / "data")
    port = 18000 + os.getpid() % 1000
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDZZLE_")}
    env.update({"VIDZZLE_TLS_ENABLED": "false", "VIDZZLE_SERVER_HOST": "127.0.0.1", "VIDZZLE_SERVER_PORT": str(port),
                "VIDZZLE_SERVER_DATA_DIR": str(work / "data"), "VIDZZLE_ICE_HOST_ADDRESSES": "127.0.0.1",
                "VIDZZLE_SERVER_LOG_LEVEL": "WARNING", "VIDZZLE_RELAY_ENABLED": "false",
                "VIDZZLE_SECURITY_RINGING_CALLS_PER_TENANT": str(customers + 10)})
    server = subprocess.Popen([sys.executable, "-m", "vidzzle_media", "serve"], env=env, cwd=work,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(200):
                try:
                    async with http.get(base + "/healthz") as resp:
                        if resp.status == 200:
                            break
                except aiohttp.ClientError:
                    await asyncio.sleep(0.1)
            await asyncio.sleep(1)
            rss_before = rss_mb(server.pid)
            latencies: list[float] = []
            done = asyncio.Event()

            async def probe() -> None:
                while not done.is_set():
                    t0 = time.perf_counter()
                    async with http.get(base + "/healthz") as resp:
                        await resp.read()
                    latencies.append((time.perf_counter() - t0) * 1000)
                    await asyncio.sleep(0.05)

            async def customer(i: int) -> int:
                await asyncio.sleep(seconds * i / customers)
                address = f"127.0.{(i + 2) // 250}.{(i + 2) % 250 + 1}"
                connector = aiohttp.TCPConnector(local_addr=(address, 0))
                async with aiohttp.ClientSession(connector=connector) as own:
                    async with own.post(base + "/api/calls", json={"embed_id": embed, "name": f"C{i}"}) as resp:
                        return resp.status

            watcher = asyncio.create_task(probe())
            statuses = await asyncio.gather(*(customer(i) for i in range(customers)))
            await asyncio.sleep(1)
            done.set()
            await watcher
            rss_after = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(20)
        shutil.rmtree(work, ignore_errors=True)
    ringing = statuses.count(201)
    ordered = sorted(latencies)
    return {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "customers": customers, "seconds": seconds, "ringing": ringing,
        "refused": len(statuses) - ringing,
        "healthz_ms": {"p50": round(statistics.median(ordered), 1),
                       "p95": round(ordered[int(len(ordered) * 0.95) - 1], 1), "max": round(ordered[-1], 1),
                       "samples": len(ordered)},
        "rss_mb": {"before": round(rss_before, 1), "after": round(rss_after, 1),
                   "per_ringing_room": round((rss_after - rss_before) / max(ringing, 1), 3)},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description="a burst of customers starting calls")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=12.0)
    args = parser.parse_args()
    result = asyncio.run(main_async(args.customers, args.seconds))
    (ROOT / "bench/results/burst.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
