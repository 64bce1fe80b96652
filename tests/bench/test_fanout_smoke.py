"""Smoke test of bench/fanout.py: the real server in its own process, 2 receivers, 3 s.

Not a measurement (CI machines are shared): it only checks that the benchmark
runs end to end, writes every documented JSON key and that frames arrived.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

KEYS = ["mode", "subscribers", "forwarded_packets_per_s", "server_cpu_percent", "server_us_per_packet",
        "receiver_fps_min", "frame_gaps", "latency_ms_p50", "latency_ms_p95", "late_join_first_frame_ms",
        "server_rss_mb", "machine"]


@pytest.mark.bench
def test_fanout_smoke(tmp_path):
    out = tmp_path / "fanout.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "fanout.py"), "--subscribers", "2",
                           "--seconds", "3", "--mode", "forward", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    result = json.loads(out.read_text())
    for key in KEYS:
        assert key in result, key
    assert result["mode"] == "forward" and result["subscribers"] == 2
    assert result["receiver_fps_min"] > 0
    assert result["forwarded_packets_per_s"] > 0
    assert result["late_join_first_frame_ms"] is not None
    for key in ("cpu_model", "cores", "python", "aiortc"):
        assert key in result["machine"], key
    assert result["core"] == "compiled"
    assert "| forward | compiled | 2 |" in proc.stdout  # the printed table


@pytest.mark.bench
def test_fanout_loss_trace_smoke(tmp_path):
    """--trace-loss writes the client report and the server's NACK log (bench/_losstrace.py)."""
    out, trace = tmp_path / "fanout.json", tmp_path / "trace.json"
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "fanout.py"), "--subscribers", "2",
                           "--seconds", "3", "--mode", "forward", "--loss", "5", "--json", str(out),
                           "--trace-loss", str(trace)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    report = json.loads(trace.read_text())
    assert isinstance(report["jitter_buffer_give_ups"], list)
    assert report["nacks_sent"] > 0  # 5 % loss at the receivers: aiortc NACKed
    legs = [k for k in report["server"] if k != "producer"]
    assert legs and any(e[1] == "nack" for k in legs for e in report["server"][k])
    assert json.loads(out.read_text())["loss"]["dropped_at_receivers"] > 0
