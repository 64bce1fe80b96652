"""A network lab for tests and benchmarks: hosts in network namespaces.

Everything happens inside a private sandbox (``sandboxed``: a new network,
mount and PID namespace made by ``unshare``); the machine's own network is
never touched. Inside it, ``Lab.build`` makes one namespace per host, joins
them with veth pairs and a bridge, and lets a router namespace do NAT and
filtering with nftables — the recipe of ``../shared/netlab.md``. Addresses
come from 198.18.0.0/15 only. When the sandbox's first process ends, every
namespace and every process started in it ends too.

Layout (the "public" segment is a bridge in the sandbox namespace; the
sandbox itself sits on it as the control host that watches the server)::

    srv 198.18.0.10 ─┐
    agt 198.18.0.20 ─┼─ br0 (198.18.0.254) ── rtr 198.18.0.1 ══ NAT ══ 198.19.1.1 ── cust 198.19.1.2
                     ┘

``driver.py`` runs a call through a topology with real Chromium; the tests
(test_topologies.py) and ``bench/networks.py`` start it with ``sandboxed``.
"""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

SERVER = "198.18.0.10"
AGENT = "198.18.0.20"
CONTROL = "198.18.0.254"
ROUTER_PUBLIC = "198.18.0.1"
ROUTER_LAN = "198.19.1.1"
CUSTOMER = "198.19.1.2"
CHROMIUM = "/usr/lib/chromium/chromium"


@dataclass(frozen=True)
class Topology:
    """One network situation a customer can be in."""

    name: str
    description: str
    customer_udp_blocked: bool = False
    """The customer's router drops every UDP packet (guest Wi-Fi, corporate networks)."""


TOPOLOGIES = {
    "A": Topology("A", "customer behind a NAT router; server and agent on the public segment"),
    "B": Topology("B", "as A, but the customer's router drops all UDP", customer_udp_blocked=True),
}


class NotASandbox(RuntimeError):
    """Refusal to build a lab anywhere but in a fresh sandbox."""


def sandboxed(argv: list[str]) -> list[str]:
    """``argv`` run as the first process of a new network, mount and PID
    namespace, with a private /var/run for ``ip netns`` (needs root)."""
    inner = "mount -t tmpfs none /var/run && mkdir -p /var/run/netns && exec \"$@\""
    return ["unshare", "--net", "--mount", "--pid", "--fork", "--kill-child", "--mount-proc",
            "--propagation", "private", "sh", "-c", inner, "sh", *argv]


def check_sandbox() -> None:
    """Refuse unless this process is PID 1 of a namespace whose only interface is lo."""
    interfaces = [name for _, name in socket.if_nameindex()]
    if os.getpid() != 1 or interfaces != ["lo"]:
        raise NotASandbox(f"not in a fresh sandbox (pid {os.getpid()}, interfaces {interfaces}): refusing to build a lab")


def run(*argv: str, stdin: str | None = None) -> None:
    subprocess.run(argv, input=stdin, text=True, check=True, capture_output=True, timeout=20)


def in_host(host: str, argv: list[str]) -> list[str]:
    """``argv`` as a process of lab host ``host``."""
    return ["ip", "netns", "exec", host, *argv]


NAT = """table ip nat {
  chain post {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "p-rtr" masquerade
  }
}
"""
DROP_UDP = """table inet filter {
  chain forward {
    type filter hook forward priority filter; policy accept;
    meta l4proto udp drop
  }
}
"""
NO_IPV6 = ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]


class Lab:
    """The hosts of one topology, built inside the sandbox this process owns."""

    def __init__(self, topology: Topology):
        self.topology = topology

    def build(self) -> None:
        check_sandbox()
        run("ip", "link", "set", "lo", "up")
        run(*NO_IPV6)
        run("ip", "link", "add", "br0", "type", "bridge")
        run("ip", "addr", "add", f"{CONTROL}/24", "dev", "br0")
        run("ip", "link", "set", "br0", "up")
        for host in ("srv", "agt", "rtr", "cust"):
            run("ip", "netns", "add", host)
            run(*in_host(host, ["ip", "link", "set", "lo", "up"]))
            run(*in_host(host, NO_IPV6))
        self._public("srv", SERVER)
        self._public("agt", AGENT)
        self._public("rtr", ROUTER_PUBLIC, name="p-rtr")
        run("ip", "link", "add", "l-cust", "type", "veth", "peer", "name", "l-rtr")
        run("ip", "link", "set", "l-cust", "netns", "cust")
        run("ip", "link", "set", "l-rtr", "netns", "rtr")
        run(*in_host("cust", ["ip", "addr", "add", f"{CUSTOMER}/24", "dev", "l-cust"]))
        run(*in_host("cust", ["ip", "link", "set", "l-cust", "up"]))
        run(*in_host("rtr", ["ip", "addr", "add", f"{ROUTER_LAN}/24", "dev", "l-rtr"]))
        run(*in_host("rtr", ["ip", "link", "set", "l-rtr", "up"]))
        run(*in_host("cust", ["ip", "route", "add", "default", "via", ROUTER_LAN]))
        run(*in_host("rtr", ["sysctl", "-qw", "net.ipv4.ip_forward=1"]))
        run(*in_host("rtr", ["nft", "-f", "-"]), stdin=NAT)
        if self.topology.customer_udp_blocked:
            run(*in_host("rtr", ["nft", "-f", "-"]), stdin=DROP_UDP)

    def _public(self, host: str, address: str, name: str | None = None) -> None:
        """Put ``host`` on the public segment (the bridge) with ``address``."""
        inside = name or f"p-{host}"
        outside = f"b-{host}"
        run("ip", "link", "add", inside, "type", "veth", "peer", "name", outside)
        run("ip", "link", "set", inside, "netns", host)
        run("ip", "link", "set", outside, "master", "br0")
        run("ip", "link", "set", outside, "up")
        run(*in_host(host, ["ip", "addr", "add", f"{address}/24", "dev", inside]))
        run(*in_host(host, ["ip", "link", "set", inside, "up"]))

    @staticmethod
    def browser_in(host: str, folder: Path) -> Path:
        """An executable that starts Chromium inside lab host ``host`` (for Playwright's executable_path)."""
        path = folder / f"chromium-{host}"
        path.write_text(f"#!/bin/sh\nexec ip netns exec {host} {CHROMIUM} \"$@\"\n")
        path.chmod(0o755)
        return path
