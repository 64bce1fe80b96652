"""Fuzz every parser that sees outside input (issue 29).

    python3 bench/fuzz.py [--inputs 1000000] [--surfaces room_json,agent_json,sdp,api,rtp,stun,image,pdf]
                          [--seed 1] [--guided] [--json FILE]

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

``--guided`` lets libFuzzer (atheris; ``pip install atheris``, not a test
dependency) choose the inputs by the Python code they reach instead of
random mutations, with the same seeds, counters and report plus libFuzzer's
coverage after the seeds and at the end. Python code only is instrumented:
the SRTP, STUN and image/PDF surfaces mostly exercise C code, where the
random mutations are as good.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import logging
import os
import random
import re
import subprocess
import sys
import tempfile
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


class Run:
    """One surface under test in this process: its setup, one input at a time, the report.

    Shared by the mutation loop (``run_surface``) and the coverage-guided
    one (``guided``, atheris/libFuzzer), so both count the same things."""

    def __init__(self, name: str) -> None:
        from fuzz import surfaces

        self.surfaces = surfaces
        self.name = name
        self.surface = surfaces.SURFACES[name]
        self.findings: list[dict] = []
        self.unhandled = 0
        self.inputs = 0
        self.slowest = (0.0, b"")
        self.rss_warm = 0
        self.logs_warm = 0
        self.logs = Count()

    async def setup(self) -> list[bytes]:
        """Logging as the server has it, the loop's error handler, the surface; returns the seeds."""
        from vidzzle_media.logs import configure_logging

        configure_logging("INFO")        # the server's default: what an administrator would read
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)   # the server runs without an access log
        logging.getLogger().handlers[:] = [self.logs]
        asyncio.get_running_loop().set_exception_handler(self._loop_error)
        self.surfaces.HARNESS["busy"] = True       # setting up (migrations applied, ...) is not the inputs' doing
        self.feed, self._close = await self.surface.setup()
        await asyncio.sleep(0.2)
        self.surfaces.HARNESS["busy"] = False
        pool = self.surfaces.seeds(self.surface.corpus) + list(getattr(self.feed, "extra_seeds", []))
        if not pool:
            raise SystemExit(f"{self.name}: no seeds in tests/fuzz/corpus/{self.surface.corpus}")
        self.started = time.perf_counter()
        return pool

    def _loop_error(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        self.unhandled += 1
        if len(self.findings) < MAX_FINDINGS:
            exc = context.get("exception")
            self.findings.append({"kind": "event loop", "message": str(context.get("message")),
                                  "exception": repr(exc),
                                  "traceback": "".join(traceback.format_exception(exc))[-1500:] if exc else "",
                                  "input": self.surfaces.HARNESS["last_async"].hex()[:8000]})

    async def one(self, data: bytes) -> None:
        """Feed one input; what escapes besides the surface's documented rejection is a finding."""
        harness = self.surfaces.HARNESS
        t = time.perf_counter()
        logged = len(self.logs.lines)
        harness["accepted"] = False
        try:
            pending = self.feed(data)
            if inspect.isawaitable(pending):      # a surface that hands some inputs to async code
                await pending
            if harness["accepted"]:               # a valid request: what it logged is the event log
                del self.logs.lines[logged:]
        except self.surface.rejects:
            pass
        except Exception as exc:
            self.unhandled += 1
            if len(self.findings) < MAX_FINDINGS:
                self.findings.append({"kind": "escaped", "exception": repr(exc)[:300], "input": data.hex()[:4000],
                                      "traceback": traceback.format_exc()[-1500:]})
        took = time.perf_counter() - t
        if took > self.slowest[0]:
            self.slowest = (took, data)
        self.inputs += 1
        if self.inputs % 100 == 0:
            await asyncio.sleep(0)               # let tasks the inputs started run too

    def warm(self) -> None:
        """The end of warm-up: RSS growth and late log lines are counted from here."""
        self.rss_warm, self.logs_warm = rss_kb(), len(self.logs.lines)

    async def close(self) -> None:
        await asyncio.sleep(0.05)
        self.surfaces.HARNESS["busy"] = True         # and neither is shutting down
        await self._close()

    def report(self, **extra: object) -> dict:
        elapsed = time.perf_counter() - self.started
        inputs, logs = self.inputs, self.logs.lines
        measured = max(1, inputs - inputs // 10)
        return {
            "surface": self.name, "inputs": inputs, "crashes": 0, "unhandled": self.unhandled,
            "log_lines": len(logs), "log_lines_per_1000": round(1000 * len(logs) / max(1, inputs), 3),
            "log_sample": logs[:5],
            "error_sample": [line for line in logs if not line.startswith("INFO")][:5],
            "rss_growth_kb": rss_kb() - self.rss_warm if self.rss_warm else 0,
            "rss_growth_kb_per_100k_inputs": (round((rss_kb() - self.rss_warm) * 100_000 / measured, 1)
                                              if self.rss_warm else 0),
            "logs_after_warmup": len(logs) - self.logs_warm,
            "seconds": round(elapsed, 1), "inputs_per_s": round(inputs / max(elapsed, 1e-9)),
            "slowest_ms": round(self.slowest[0] * 1000, 2), "slowest_input": self.slowest[1].hex()[:400],
            "findings": self.findings, **extra,
        }


async def run_surface(name: str, inputs: int, seed: int) -> dict:
    """``inputs`` random mutations of the seeds (the seeds themselves first)."""
    run = Run(name)
    pool = await run.setup()
    rng = random.Random(seed)
    try:
        for i in range(inputs):
            await run.one(pool[i] if i < len(pool) else run.surfaces.mutate(rng, pool, run.surface.json_aware))
            if i == inputs // 10:
                run.warm()
    finally:
        await run.close()
    return run.report(seeds=len(pool))


def guided(name: str, runs: int, seed: int) -> None:
    """Coverage-guided: libFuzzer (atheris) chooses the inputs from what reached
    new lines of the Python code (the product's and its libraries'; C code such
    as the compiled media core, libsrtp, Pillow or MuPDF is not instrumented).
    Starts from the same seeds; prints the report as the last line and exits."""
    import atheris

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    run = Run(name)
    pool = loop.run_until_complete(run.setup())
    corpus = Path(tempfile.mkdtemp(prefix=f"fuzz-{name}-"))
    for i, data in enumerate(pool):
        (corpus / f"seed-{i:03d}").write_bytes(data)
    atheris.instrument_all()

    def test_one_input(data: bytes) -> None:
        loop.run_until_complete(run.one(data))
        if run.inputs == max(1, runs // 10):
            run.warm()
        if run.inputs >= runs:
            loop.run_until_complete(run.close())
            print(json.dumps(run.report(seeds=len(pool), guided=True)), flush=True)
            os._exit(0)           # libFuzzer would exit on its own, without a report

    atheris.Setup([sys.argv[0], f"-seed={seed}", "-max_len=65536", "-rss_limit_mb=4096", str(corpus)],
                  test_one_input)
    atheris.Fuzz()


def one(args: argparse.Namespace) -> int:
    if args.guided:
        guided(args.one, args.inputs, args.seed)
    result = asyncio.run(run_surface(args.one, args.inputs, args.seed))
    print(json.dumps(result))
    return 0


def libfuzzer_coverage(stderr: str) -> dict:
    """libFuzzer's own counters: coverage after the seeds (INITED) and at the end."""
    found = re.findall(r"^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+)", stderr, flags=re.M)
    inited = next(((int(c), int(f)) for _, kind, c, f in found if kind == "INITED"), None)
    last = (int(found[-1][2]), int(found[-1][3])) if found else None
    return {"after_seeds": {"cov": inited[0], "ft": inited[1]} if inited else None,
            "at_end": {"cov": last[0], "ft": last[1]} if last else None,
            "new_units": sum(1 for _, kind, _, _ in found if kind == "NEW")}


def ok(result: dict) -> bool:
    return (result["crashes"] == 0 and result["unhandled"] == 0
            and result["log_lines_per_1000"] <= MAX_LOG_LINES_PER_1000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=1_000_000, help="inputs per surface")
    parser.add_argument("--surfaces", default="room_json,agent_json,sdp,api,rtp,stun,image,pdf")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--guided", action="store_true",
                        help="coverage-guided inputs (atheris, pip install atheris) instead of random mutations")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        return one(args)
    results = []
    for name in args.surfaces.split(","):
        proc = subprocess.run([sys.executable, __file__, "--one", name, "--inputs", str(args.inputs),
                               "--seed", str(args.seed), *(["--guided"] if args.guided else [])],
                              capture_output=True, text=True)
        lines = proc.stdout.strip().splitlines()
        if proc.returncode == 0 and lines:
            result = json.loads(lines[-1])
            if args.guided:
                result["coverage"] = libfuzzer_coverage(proc.stderr)
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
