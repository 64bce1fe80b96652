"""The short soak of CI: bench/soak.py for 2 minutes.

Calls with churn through the real server process (public API, agent socket,
rooms with aiortc media both ways, presentation pages, leave and hang-up),
mails to a real SMTP sink and signed webhooks to a loopback sink. Fails when
a call fails, a frame gap is counted, a mail or webhook is missing, rooms,
outbox, open files or tasks do not come back after the last call, or the
server logs a traceback. Six slots, not the long run's ten: this leaves the
clients headroom on a shared 2-core CI machine (the frames they drop when
saturated would be counted as the server's gaps). The long run is
``python3 bench/soak.py --minutes 60``; its results are in docs/benchmarks.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.bench
def test_two_minutes_of_calls_with_churn(tmp_path):
    out = tmp_path / "soak.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "soak.py"), "--minutes", "2", "--calls", "6",
                           "--sample-s", "20", "--warmup-min", "1", "--json", str(out)],
                          capture_output=True, text=True, timeout=420)
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["misses"] == [], result["misses"]
    assert result["calls_done"] >= 20 and result["failures"] == {}
    assert result["mails"] == result["calls_rung"] == result["calls_accepted"] == result["calls_done"]
    assert result["webhooks"] == {"start": result["calls_done"], "end": result["calls_done"], "unsigned": 0}
    assert result["gaps"] == 0 and result["frames"] > 1000
    assert result["after"]["rooms"] == 0 and result["after"]["outbox_depth"] == 0
    assert result["server_log"]["tracebacks"] == []
    assert len(result["samples"]) >= 6
    assert proc.returncode == 0, proc.stdout[-3000:]
