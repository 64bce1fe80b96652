#!/usr/bin/env python3
"""Call setup latency in real Chromium, median of 5 runs on loopback.

Runs tests/e2e/test_incoming.py::test_latency_median_of_5 inside a network
namespace with only lo (root: ``unshare -n``, else ``unshare -rn``) and prints
bench/results/e2e_latency.json: click -> agent ringing, accept -> first
remote camera frame decoded at the agent and at the customer (getStats).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    flag = "-n" if os.geteuid() == 0 else "-rn"
    inner = (f"ip link set lo up && exec {sys.executable} -m pytest -q -p no:cacheprovider -m browser "
             f"tests/e2e/test_incoming.py::test_latency_median_of_5")
    env = {**os.environ, "VIDZZLE_E2E_LATENCY_JSON": str(ROOT / "bench/results/e2e_latency.json")}
    rc = subprocess.run(["unshare", flag, "sh", "-c", inner], cwd=ROOT, env=env).returncode
    if rc == 0:
        print(json.dumps(json.loads((ROOT / "bench/results/e2e_latency.json").read_text()), indent=2))
    return rc


if __name__ == "__main__":
    sys.exit(main())
