#!/usr/bin/env python3
"""Calls through the network lab's topologies (tests/net), median of 3 each.

For every topology (A: customer behind NAT; B: as A, with all UDP dropped at
the customer's router; C: server and agent behind the dealer's router with
a port-forward; D: customer behind a symmetric NAT; E: as A, the
customer's address changes mid-call; F: as A, the customer's router starts
dropping UDP mid-call; B-coturn: as B, through the dealer's
own coturn with the built-in relay off) this builds the lab in a fresh sandbox, starts the
real server with its default settings (plus the lab's public address) and
runs 3 calls between a real Chromium customer and agent. It writes
bench/results/networks.json: per topology whether every call connected,
the customer's selected candidate pair, the median time from the agent's
accept to the first decoded video frame on both sides, and for E and F the
median video gap (the longest freeze on either side around the change).

Needs root (network namespaces, nftables) and Debian's chromium.
    python3 bench/networks.py [--repeat 3] [A B B-coturn C D E F]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "net"))

from lab import TOPOLOGIES, sandboxed  # noqa: E402

TARGET_B_MS = 1500
TARGET_GAP_MS = 3000
"""E and F: the longest video freeze when the customer's network changes."""


def run(name: str, repeat: int) -> dict:
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(sandboxed([sys.executable, str(ROOT / "tests/net/driver.py"), "--topology", name,
                                  "--work", work, "--repeat", str(repeat)]),
                       cwd=ROOT, capture_output=True, text=True, timeout=120 + 90 * repeat)
        report = Path(work) / "report.json"
        if not report.exists():
            return {"topology": name, "connected": False, "candidate_pair": None, "accept_to_first_frame_ms": None,
                    "media_gap_ms": None, "error": "no report (see the driver's output)"}
        return json.loads(report.read_text())


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def main() -> int:
    parser = argparse.ArgumentParser(description="calls through the lab topologies")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("topologies", nargs="*", default=sorted(TOPOLOGIES))
    args = parser.parse_args()
    results = {name: run(name, args.repeat) for name in args.topologies}
    out = {"machine": machine(), "repeat": args.repeat, "topologies": {
        name: {k: r.get(k) for k in ("description", "connected", "candidate_pair", "accept_to_first_frame_ms",
                                      "media_gap_ms")}
        | {"each_ms": [c.get("accept_to_first_frame_ms") for c in r.get("calls", [])]}
        for name, r in results.items()}}
    path = ROOT / "bench/results/networks.json"
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"machine: {out['machine']}")
    print("| topology | connected | customer's candidate pair | accept -> first frame, median ms | each call ms "
          "| media gap, median ms |")
    print("|---|---|---|---|---|---|")
    for name, r in out["topologies"].items():
        print(f"| {name}: {r['description']} | {r['connected']} | {r['candidate_pair']} | "
              f"{r['accept_to_first_frame_ms']} | {', '.join(str(x) for x in r['each_ms'])} | "
              f"{r['media_gap_ms'] if r['media_gap_ms'] is not None else '-'} |")
    b = out["topologies"].get("B")
    ok = all(r["connected"] for r in out["topologies"].values())
    if b and b["connected"] and b["accept_to_first_frame_ms"] > TARGET_B_MS:
        print(f"B is slower than its target ({TARGET_B_MS} ms)")
        ok = False
    for name in ("E", "F"):
        r = out["topologies"].get(name)
        if r and (r["media_gap_ms"] is None or r["media_gap_ms"] > TARGET_GAP_MS):
            print(f"{name}'s media gap misses its target ({TARGET_GAP_MS} ms)")
            ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
