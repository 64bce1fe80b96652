"""The short fuzz run of CI: bench/fuzz.py with 10,000 inputs per surface.

Fails on any crash, any unhandled exception (escaped from a parser, or
reported by the event loop) and more than 1 log line per 1,000 hostile
inputs, per surface. The long run (1,000,000 per surface) is
``python3 bench/fuzz.py``; its results are in docs/benchmarks.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_ten_thousand_hostile_inputs_per_surface(tmp_path):
    out = tmp_path / "fuzz.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "fuzz.py"), "--inputs", "10000", "--seed", "29",
                           "--json", str(out)], capture_output=True, text=True, timeout=600)
    results = json.loads(out.read_text())["results"]
    assert {r["surface"] for r in results} == {"room_json", "agent_json", "sdp", "api", "rtp", "stun", "image", "pdf"}
    for r in results:
        assert r["inputs"] == 10000
        assert r["crashes"] == 0, r
        assert r["unhandled"] == 0, r["findings"]
        assert r["log_lines_per_1000"] <= 1.0, r["log_sample"]
    assert proc.returncode == 0, proc.stdout[-3000:]
