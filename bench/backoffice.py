"""Back-office benchmark: dashboard and calls-list server time with N call records.

    python bench/backoffice.py --calls 100000 --json FILE

Seeds N calls (90 % in one tenant with 20 flows and 30 agents; 95 % of the
calls spread over the last 365 days, RECENT_SHARE = 5 % over the last 48
hours, mixed states)
into a fresh data dir through the real store, then times the service
functions behind GET /admin/ (services.dashboard.dashboard) and GET
/admin/calls (services.call_list.call_page: unfiltered, by state, by agent,
by date) with the real SQLite file. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from vidzzle_media.services.calls import call_list  # noqa: E402
from vidzzle_media.services.calls.dashboard import dashboard  # noqa: E402
from vidzzle_media.store import Database  # noqa: E402
from vidzzle_media.store import tenants as tenant_store  # noqa: E402
from vidzzle_media.store.database import utcnow  # noqa: E402

RECENT_SHARE = 0.05
"""share of the calls in the last 48 hours (5000 of 100000: ~100 per hour, a very busy tenant)"""
STATES = ["ended"] * 6 + ["missed", "abandoned", "out_of_hours", "accepted"]


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds")


async def seed(db: Database, n: int, now: datetime) -> int:
    rng = random.Random(42)
    async with db.transaction() as conn:
        tenant = await tenant_store.insert_tenant(conn, name="Bench Cars", street="", zip="", city="", email="",
                                                  timezone="Europe/Berlin", now=utcnow())
        other = await tenant_store.insert_tenant(conn, name="Other", street="", zip="", city="", email="",
                                                 timezone="UTC", now=utcnow())
        agents = []
        for i in range(30):
            cur = await conn.execute("INSERT INTO users(tenant_id, role, name, email, created_at) VALUES (?, 'user', ?, ?, ?)",
                                     (tenant, f"Agent {i}", f"agent{i}@bench.example", utcnow()))
            agents.append(cur.lastrowid)
    rows = []
    for i in range(n):
        recent = rng.random() < RECENT_SHARE
        created = now - timedelta(seconds=rng.uniform(0, 48 * 3600 if recent else 365 * 86400))
        state = rng.choice(STATES)
        accepted = state in ("ended", "accepted")
        rows.append((str(uuid.uuid4()), tenant if i % 10 else other, rng.randint(1, 20), "incoming" if i % 7 else "outgoing",
                     state, "rang_unanswered" if state == "missed" else "", "Customer",
                     rng.choice(agents) if accepted else None, "Agent" if accepted else "", _iso(created),
                     _iso(created) if accepted else None, _iso(created) if state != "accepted" else None,
                     rng.uniform(20, 900) if state == "ended" else None))
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO calls(id, tenant_id, flow_id, direction, state, miss_reason, customer_name, agent_id, agent_name,"
            " created_at, accepted_at, ended_at, duration_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    async with db.transaction() as conn:
        await conn.execute("ANALYZE")
    return tenant, agents


def _pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


async def timed(fn, repeat: int) -> list[float]:
    await fn()   # warm-up
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def machine() -> str:
    try:
        text = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        model = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Model name")), "")
    except OSError:
        model = ""
    import os
    return f"{model or platform.processor()} ({os.cpu_count()} cores), Python {platform.python_version()}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "data" / "vidzzle.db")
        await db.open()
        t0 = time.perf_counter()
        tenant, agents = await seed(db, args.calls, now)
        seed_s = time.perf_counter() - t0
        day = now.date().isoformat()
        scenarios = {
            "dashboard": lambda: dashboard(db, tenant, now=now),
            "calls_list": lambda: call_list.call_page(db, tenant, {}),
            "calls_list_state": lambda: call_list.call_page(db, tenant, {"state": "missed"}),
            "calls_list_agent": lambda: call_list.call_page(db, tenant, {"agent": str(agents[3])}),
            "calls_list_date": lambda: call_list.call_page(db, tenant, {"date": day, "state": "not_accepted"}),
        }
        results = {}
        for name, fn in scenarios.items():
            samples = await timed(fn, args.repeat)
            results[name] = {"p50": _pct(samples, 50), "p95": _pct(samples, 95), "mean": statistics.mean(samples)}
        await db.close()
    report = {
        "calls": args.calls, "repeat": args.repeat, "seed_s": round(seed_s, 2), "machine": machine(),
        "dashboard_ms_p50": round(results["dashboard"]["p50"], 2),
        "dashboard_ms_p95": round(results["dashboard"]["p95"], 2),
        "calls_list_ms_p50": round(results["calls_list"]["p50"], 2),
        "calls_list_ms_p95": round(results["calls_list"]["p95"], 2),
        "scenarios": {k: {m: round(v, 2) for m, v in r.items()} for k, r in results.items()},
    }
    print(f"{args.calls} calls, {args.repeat} runs each, {report['machine']}")
    print(f"{'scenario':<20}{'p50 ms':>10}{'p95 ms':>10}")
    for name, r in results.items():
        print(f"{name:<20}{r['p50']:>10.2f}{r['p95']:>10.2f}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
