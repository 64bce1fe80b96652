"""Calls through simulated networks (issues 24, 27): real server, real
Chromium customer and agent, each in its own lab host (lab.py). Each
topology runs one call in a fresh sandbox and must show decoded frames on
both sides, over the candidate pair that topology calls for: A (NAT) a
direct UDP pair, B (UDP blocked) the built-in relay over TCP, C (server
behind the dealer's router) the customer on the forwarded address and the
agent on the LAN address, D (symmetric NAT) a direct UDP pair, E (the
customer's address changes mid-call) and F (its router starts dropping UDP
mid-call) video back on both sides without a click, B-coturn (UDP blocked, the dealer's own coturn, built-in relay off)
a relayed pair through coturn. The accept-to-first-frame time is
printed; bench/networks.py measures it properly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from lab import CHROMIUM, DEALER_ROUTER_PUBLIC, LAN_SERVER, TOPOLOGIES, sandboxed  # noqa: E402

pytestmark = pytest.mark.browser


def lab_unavailable() -> str | None:
    """Why no lab can be built here; in CI that is a failure, not a skip."""
    reason = None
    if not Path(CHROMIUM).exists():
        reason = f"Debian chromium not installed ({CHROMIUM})"
    elif os.geteuid() != 0:
        reason = "network namespaces with NAT need root"
    elif subprocess.run(["nft", "--version"], capture_output=True).returncode != 0:
        reason = "nftables (nft) not installed"
    elif not shutil.which("turnserver"):
        reason = "coturn (turnserver) not installed"
    elif subprocess.run(sandboxed(["true"]), capture_output=True).returncode != 0:
        reason = "cannot make a sandbox namespace (unshare)"
    if reason and os.environ.get("CI"):
        pytest.fail(f"the network lab cannot run in CI: {reason}", pytrace=False)
    return reason


def run_topology(name: str, work: Path, repeat: int = 1) -> dict:
    proc = subprocess.run(sandboxed([sys.executable, str(HERE / "driver.py"), "--topology", name,
                                     "--work", str(work), "--repeat", str(repeat)]),
                          capture_output=True, text=True, timeout=240, cwd=HERE.parents[1])
    report = work / "report.json"
    server_log = (work / "server.log").read_text()[-4000:] if (work / "server.log").exists() else ""
    assert report.exists(), f"no report:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}\n{server_log}"
    return json.loads(report.read_text())


def direct_udp(pair: str) -> bool:
    return pair.endswith("host/udp") and "relay" not in pair


EXPECTED_CUSTOMER_PAIR = {
    "A": direct_udp,                                     # direct UDP through the NAT
    "B": lambda pair: pair in ("relay/tcp - host/udp", "relay/tls - host/udp"),  # UDP blocked: the built-in relay
    "C": direct_udp,                                     # through the dealer's port-forward
    "D": direct_udp,                                     # the symmetric NAT's port is learnt from the checks
    "E": direct_udp,                                     # re-joined from the new address
    "F": lambda pair: pair in ("relay/tcp - host/udp", "relay/tls - host/udp"),  # re-joined through the relay
    "B-coturn": lambda pair: pair.startswith("relay/tcp - "),  # UDP blocked: the dealer's coturn, over TCP
}


# One re-run: B-coturn failed twice in about 40 CI and local runs without a
# reproducible cause (20 repeated lab calls after the TURN-transport fix all
# connected); a second failure in a row still fails the suite with the
# report (every pair and the error) in its assertion message.
@pytest.mark.flaky(reruns=1)
@pytest.mark.parametrize("name", sorted(EXPECTED_CUSTOMER_PAIR))
def test_call_through_topology(name, tmp_path):
    reason = lab_unavailable()
    if reason:
        pytest.skip(reason)
    report = run_topology(name, tmp_path)
    print(f"\ntopology {name}: {json.dumps(report['calls'])}")
    (call,) = report["calls"]
    assert call["connected"], call["error"]
    assert set(call["customer_pairs"]) == {"publish", "subscribe"}
    for pair in call["customer_pairs"].values():
        assert EXPECTED_CUSTOMER_PAIR[name](pair), pair
    for pair in call["agent_pairs"].values():     # the agent reaches the server directly: host to host
        assert pair == "host/udp - host/udp", pair
    if name == "C":      # customers use the router's forwarded address, the agent the LAN address (no hairpin)
        assert set(call["customer_remote"].values()) == {DEALER_ROUTER_PUBLIC}, call["customer_remote"]
        assert set(call["agent_remote"].values()) == {LAN_SERVER}, call["agent_remote"]
    if TOPOLOGIES[name].disrupted:  # media came back by itself (the 3 s target is bench/networks.py's); no hang-up
        assert call["media_gap_ms"] is not None, "video did not resume after the change of the customer's network"
        assert call["still_in_call"], "the agent's page left the call"
    if name == "B-coturn":   # the server's own agent took a relay candidate from the first TURN URL (UDP)
        assert all("relay" in types for types in call["customer_offered"].values()), call["customer_offered"]
    if report["nat_ports"]:     # the customer's router: one port for all destinations, or one per destination
        first, second = report["nat_ports"]
        assert (first != second) == TOPOLOGIES[name].symmetric_nat, report["nat_ports"]
