"""Fuzz every parser that sees outside input (issue 29).

    python3 bench/fuzz.py [--inputs 1000000] [--surfaces room_json,agent_json,sdp,api,rtp,stun,image,pdf]
                          [--seed 1] [--json FILE]

Each surface of ``tests/fuzz/surfaces.py`` runs in its own process (a crash
is a finding, not the end of the run) and gets ``--inputs`` mutations of its
seed corpus (``tests/fuzz/corpus/``: recorded from a real call), with the
event loop turning every 100 inputs so tasks the inputs started run too.
Per surface it reports: inputs, crashes (the process died), unhandled
exceptions (anything but the parser's documented rejection escaping, and
every exception the event loop reports, such as "Task exception was never
retrieved"), log lines per 1,000 inputs, RSS growth after the first 10 %,
the slowest input, and the first few findings with the input that caused
them (hex), so a regression test can replay it. Exit status 1 when any
surface has a crash, an unhandled exception or more than 1 log line per
1,000 inputs. CI runs ``--inputs 10000`` (tests/fuzz/test_fuzz_ci.py).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import os
import random
import subprocess
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

MAX_FINDINGS = 5
MAX_LOG_LINES_PER_1000 = 1.0


def rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


class Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        from fuzz import surfaces

        if surfaces.HARNESS["busy"]:     # the harness's own calls (e.g. a fresh call to fuzz), not an input's
            return
        line = f"{record.levelname} {record.name}: {record.getMessage()}"
        if record.exc_info:
            line += " | " + logging.Formatter().formatException(record.exc_info)[-1200:]
        self.lines.append(line[:1600])


async def run_surface(name: str, inputs: int, seed: int) -> dict:
    from fuzz import surfaces

    from vidzzle_media.logs import configure_logging

    surface = surfaces.SURFACES[name]
    configure_logging("INFO")        # the server's default: what an administrator would read
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)   # the server runs without an access log
    logs = Count()
    logging.getLogger().handlers[:] = [logs]
    loop = asyncio.get_running_loop()
    findings: list[dict] = []
    unhandled = 0

    def loop_error(loop: asyncio.AbstractEventLoop, context: dict) -> None:
        nonlocal unhandled
        unhandled += 1
        if len(findings) < MAX_FINDINGS:
            exc = context.get("exception")
            findings.append({"kind": "event loop", "message": str(context.get("message")), "exception": repr(exc),
                             "traceback": "".join(traceback.format_exception(exc))[-1500:] if exc else "",
                             "input": surfaces.HARNESS["last_async"].hex()[:8000]})

    loop.set_exception_handler(loop_error)
    surfaces.HARNESS["busy"] = True                 # setting up (migrations applied, ...) is not the inputs' doing
    feed, close = await surface.setup()
    await asyncio.sleep(0.2)
    surfaces.HARNESS["busy"] = False
    pool = surfaces.seeds(surface.corpus) + list(getattr(feed, "extra_seeds", []))
    if not pool:
        raise SystemExit(f"{name}: no seeds in tests/fuzz/corpus/{surface.corpus}")
    rng = random.Random(seed)
    slowest = (0.0, b"")
    rss_warm = 0
    logs_warm = 0
    started = time.perf_counter()
    try:
        for i in range(inputs):
            data = pool[i] if i < len(pool) else surfaces.mutate(rng, pool, surface.json_aware)
            t = time.perf_counter()
            logged = len(logs.lines)
            surfaces.HARNESS["accepted"] = False
            try:
                pending = feed(data)
                if inspect.isawaitable(pending):      # a surface that hands some inputs to async code
                    await pending
                if surfaces.HARNESS["accepted"]:      # a valid request: what it logged is the event log
                    del logs.lines[logged:]
            except surface.rejects:
                pass
            except Exception as exc:
                unhandled += 1
                if len(findings) < MAX_FINDINGS:
                    findings.append({"kind": "escaped", "exception": repr(exc)[:300], "input": data.hex()[:4000],
                                     "traceback": traceback.format_exc()[-1500:]})
            took = time.perf_counter() - t
            if took > slowest[0]:
                slowest = (took, data)
            if i % 100 == 99:
                await asyncio.sleep(0)
            if i == inputs // 10:
                rss_warm, logs_warm = rss_kb(), len(logs.lines)
        await asyncio.sleep(0.05)
    finally:
        surfaces.HARNESS["busy"] = True             # and neither is shutting down
        await close()
    elapsed = time.perf_counter() - started
    measured = max(1, inputs - inputs // 10)
    return {
        "surface": name, "inputs": inputs, "seeds": len(pool), "crashes": 0, "unhandled": unhandled,
        "log_lines": len(logs.lines), "log_lines_per_1000": round(1000 * len(logs.lines) / inputs, 3),
        "log_sample": logs.lines[:5],
        "error_sample": [line for line in logs.lines if not line.startswith("INFO")][:5],
        "rss_growth_kb": rss_kb() - rss_warm if rss_warm else 0,
        "rss_growth_kb_per_100k_inputs": round((rss_kb() - rss_warm) * 100_000 / measured, 1) if rss_warm else 0,
        "logs_after_warmup": len(logs.lines) - logs_warm,
        "seconds": round(elapsed, 1), "inputs_per_s": round(inputs / elapsed),
        "slowest_ms": round(slowest[0] * 1000, 2), "slowest_input": slowest[1].hex()[:400],
        "findings": findings,
    }


def one(args: argparse.Namespace) -> int:
    result = asyncio.run(run_surface(args.one, args.inputs, args.seed))
    print(json.dumps(result))
    return 0


def ok(result: dict) -> bool:
    return (result["crashes"] == 0 and result["unhandled"] == 0
            and result["log_lines_per_1000"] <= MAX_LOG_LINES_PER_1000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=1_000_000, help="inputs per surface")
    parser.add_argument("--surfaces", default="room_json,agent_json,sdp,api,rtp,stun,image,pdf")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return one(args)
    results = []
    for name in args.surfaces.split(","):
        proc = subprocess.run([sys.executable, __file__, "--one", name, "--inputs", str(args.inputs),
                               "--seed", str(args.seed)], capture_output=True, text=True)
        lines = proc.stdout.strip().splitlines()
        if proc.returncode == 0 and lines:
            result = json.loads(lines[-1])
        else:
            result = {"surface": name, "inputs": args.inputs, "crashes": 1, "unhandled": 0, "log_lines_per_1000": 0,
                      "returncode": proc.returncode, "stderr": proc.stderr[-3000:]}
        results.append(result)
        print(f"{name}: {result['inputs']} inputs, {result['crashes']} crashes, {result['unhandled']} unhandled, "
              f"{result['log_lines_per_1000']} log lines/1000, RSS +{result.get('rss_growth_kb', '?')} kB, "
              f"slowest {result.get('slowest_ms', '?')} ms, {result.get('inputs_per_s', '?')} inputs/s", flush=True)
        for finding in result.get("findings", [])[:3]:
            print("   ", json.dumps(finding)[:600])
    if args.json:
        Path(args.json).write_text(json.dumps({"seed": args.seed, "results": results}, indent=2) + "\n")
    return 0 if all(ok(r) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
