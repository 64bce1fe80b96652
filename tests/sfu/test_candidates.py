"""The addresses the server offers in its SDP: reachable ones only. With
ice.host_addresses empty, loopback, link-local and container/VM bridge
addresses (docker0, veth, ...) stay out; configured addresses are used as
they are."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import ifaddr
import pytest

from vidzzle_media.sfu import aiortc_glue

NET = Path(__file__).resolve().parents[1] / "net"
sys.path.insert(0, str(NET))

from lab import sandboxed  # noqa: E402


def adapter(name, *ips):
    return ifaddr.Adapter(name, name, [ifaddr.IP(ip, 24 if isinstance(ip, str) else 64, name) for ip in ips])


def test_machine_addresses_leave_out_what_no_customer_reaches(monkeypatch):
    monkeypatch.setattr(ifaddr, "get_adapters", lambda: [
        adapter("lo", "127.0.0.1", ("::1", 0, 0)),
        adapter("eth0", "203.0.113.10", ("fe80::1", 0, 2), ("2001:db8::10", 0, 0)),
        adapter("docker0", "172.17.0.1"),
        adapter("br-3f2a9c", "172.18.0.1"),
        adapter("veth12ab", ("fe80::2", 0, 5)),
        adapter("virbr0", "192.168.122.1"),
        adapter("wlan0", "198.51.100.7"),
    ])
    assert aiortc_glue.machine_addresses() == ["203.0.113.10", "2001:db8::10", "198.51.100.7"]
    assert aiortc_glue.machine_addresses(use_ipv6=False) == ["203.0.113.10", "198.51.100.7"]


def test_configured_addresses_are_used_as_they_are():
    try:
        aiortc_glue.set_host_addresses(["127.0.0.1"])
        assert aiortc_glue.host_addresses() == ["127.0.0.1"]
    finally:
        aiortc_glue.set_host_addresses(None)
    assert "127.0.0.1" not in aiortc_glue.host_addresses()


def test_offer_sdp_on_a_machine_with_docker(tmp_path):
    """A real offer in a sandbox whose interfaces are a LAN card, docker0 and a veth link."""
    if os.geteuid() != 0 or subprocess.run(sandboxed(["true"]), capture_output=True).returncode != 0:
        if os.environ.get("CI"):
            pytest.fail("cannot make a sandbox namespace in CI", pytrace=False)
        pytest.skip("needs root for a network namespace")
    proc = subprocess.run(sandboxed([sys.executable, str(NET / "sdp_probe.py")]), capture_output=True, text=True,
                          timeout=60, cwd=NET.parents[1])
    assert proc.returncode == 0, proc.stderr[-3000:]
    addresses = json.loads(proc.stdout.strip().splitlines()[-1])
    assert addresses and set(addresses) == {"198.18.7.10"}, addresses
