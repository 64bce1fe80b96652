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

In topology C the server and the agent sit on the dealer's LAN instead,
behind the dealer's router ``drt``, which forwards the HTTPS port and the
media UDP range to the server and does not reflect traffic back inside::

    srv 198.19.2.10 ─┬─ br1 ── drt 198.19.2.1 ══ port-forward/NAT ══ 198.18.0.30 ── br0 ── rtr ══ NAT ══ cust
    agt 198.19.2.20 ─┘

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
CUSTOMER_MOVED = "198.19.1.3"
"""The customer's address after the change of network in topology E."""
DEALER_ROUTER_PUBLIC = "198.18.0.30"
DEALER_ROUTER_LAN = "198.19.2.1"
LAN_SERVER = "198.19.2.10"
LAN_AGENT = "198.19.2.20"
MEDIA_PORTS = (40000, 40099)
"""The UDP range the server uses in topology C (forwarded by the dealer's router)."""
HTTPS_PORT = 8443
TURN_HOST = "198.18.0.40"
"""The dealer IT's own coturn (topology B-coturn), on the public segment."""
TURN_SECRET = "lab-turn-secret"
CHROMIUM = "/usr/lib/chromium/chromium"


@dataclass(frozen=True)
class Topology:
    """One network situation a customer can be in."""

    name: str
    description: str
    customer_udp_blocked: bool = False
    """The customer's router drops every UDP packet (guest Wi-Fi, corporate networks)."""
    symmetric_nat: bool = False
    """The customer's router maps every destination to a new external port (mobile carriers)."""
    server_behind_router: bool = False
    """Server and agent on the dealer's LAN behind a router with a port-forward (on-prem install)."""
    external_turn: bool = False
    """A coturn of the dealer's own instead of the built-in relay (which is switched off)."""
    address_change: bool = False
    """The customer's address changes in the middle of the call (Wi-Fi to mobile data)."""
    udp_blocked_mid_call: bool = False
    """The customer's router starts dropping UDP in the middle of the call (a firewall rule, a captive portal)."""

    @property
    def disrupted(self) -> bool:
        """Something happens to the customer's network in the middle of the call."""
        return self.address_change or self.udp_blocked_mid_call

    @property
    def server(self) -> str:
        """The server's own address."""
        return LAN_SERVER if self.server_behind_router else SERVER

    @property
    def public_server(self) -> str:
        """Where customers reach the server."""
        return DEALER_ROUTER_PUBLIC if self.server_behind_router else SERVER

    @property
    def agent(self) -> str:
        return LAN_AGENT if self.server_behind_router else AGENT


TOPOLOGIES = {
    "A": Topology("A", "customer behind a NAT router; server and agent on the public segment"),
    "B": Topology("B", "as A, but the customer's router drops all UDP", customer_udp_blocked=True),
    "C": Topology("C", "server and agent on the dealer's LAN behind a router with a port-forward; "
                       "customer behind a NAT router", server_behind_router=True),
    "D": Topology("D", "as A, but the customer's NAT is symmetric (a new port per destination)", symmetric_nat=True),
    "E": Topology("E", "as A, but the customer's address changes mid-call (a phone leaving the Wi-Fi)",
                  address_change=True),
    "F": Topology("F", "as A, but the customer's router starts dropping all UDP mid-call", udp_blocked_mid_call=True),
    "B-coturn": Topology("B-coturn", "as B, with the dealer's own coturn (use-auth-secret) instead of the built-in relay",
                         customer_udp_blocked=True, external_turn=True),
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
SYMMETRIC_NAT = NAT.replace("masquerade", "masquerade random")
"""Every conntrack entry (one per destination) gets a random external port."""
PORT_FORWARD = f"""table ip nat {{
  chain pre {{
    type nat hook prerouting priority dstnat; policy accept;
    iifname "p-drt" tcp dport {HTTPS_PORT} dnat to {LAN_SERVER}
    iifname "p-drt" udp dport {MEDIA_PORTS[0]}-{MEDIA_PORTS[1]} dnat to {LAN_SERVER}
  }}
  chain post {{
    type nat hook postrouting priority srcnat; policy accept;
    oifname "p-drt" masquerade
  }}
}}
"""
"""The dealer's router: HTTPS and the media range forwarded to the server; no hairpin."""
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
        topology = self.topology
        run("ip", "link", "set", "lo", "up")
        run(*NO_IPV6)
        run("ip", "link", "add", "br0", "type", "bridge")
        run("ip", "addr", "add", f"{CONTROL}/24", "dev", "br0")
        run("ip", "link", "set", "br0", "up")
        hosts = (["srv", "agt", "rtr", "cust"] + (["drt"] if topology.server_behind_router else [])
                 + (["turn"] if topology.external_turn else []))
        for host in hosts:
            run("ip", "netns", "add", host)
            run(*in_host(host, ["ip", "link", "set", "lo", "up"]))
            run(*in_host(host, NO_IPV6))
        if topology.server_behind_router:
            self._dealer_lan()
        else:
            self._public("srv", SERVER)
            self._public("agt", AGENT)
        if topology.external_turn:
            self._public("turn", TURN_HOST)
        self._public("rtr", ROUTER_PUBLIC, name="p-rtr")
        self._link("cust", CUSTOMER, "rtr", ROUTER_LAN)
        run(*in_host("rtr", ["sysctl", "-qw", "net.ipv4.ip_forward=1"]))
        run(*in_host("rtr", ["nft", "-f", "-"]), stdin=SYMMETRIC_NAT if topology.symmetric_nat else NAT)
        if topology.customer_udp_blocked:
            run(*in_host("rtr", ["nft", "-f", "-"]), stdin=DROP_UDP)

    @staticmethod
    def move_customer() -> str:
        """The customer's network changes: its address goes away, another
        one (and a new route) comes up, so its router's NAT maps it anew.
        Alternates between two addresses (one move per call); returns the new one."""
        shown = subprocess.run(in_host("cust", ["ip", "-4", "-o", "addr", "show", "dev", "l-cust"]),
                               capture_output=True, text=True, check=True, timeout=20).stdout
        old, new = (CUSTOMER, CUSTOMER_MOVED) if f" {CUSTOMER}/" in shown else (CUSTOMER_MOVED, CUSTOMER)
        run(*in_host("cust", ["ip", "addr", "del", f"{old}/24", "dev", "l-cust"]))
        run(*in_host("cust", ["ip", "addr", "add", f"{new}/24", "dev", "l-cust"]))
        run(*in_host("cust", ["ip", "route", "replace", "default", "via", ROUTER_LAN]))
        return new

    @staticmethod
    def block_customer_udp() -> None:
        """From now on the customer's router drops every UDP packet (topology F)."""
        run(*in_host("rtr", ["nft", "-f", "-"]), stdin=DROP_UDP)

    @staticmethod
    def unblock_customer_udp() -> None:
        run(*in_host("rtr", ["nft", "delete", "table", "inet", "filter"]))

    def _dealer_lan(self) -> None:
        """Server and agent on a LAN bridge behind the dealer's router (topology C)."""
        self._public("drt", DEALER_ROUTER_PUBLIC, name="p-drt")
        run("ip", "link", "add", "br1", "type", "bridge")
        run("ip", "link", "set", "br1", "up")
        for host, address in (("srv", LAN_SERVER), ("agt", LAN_AGENT), ("drt", DEALER_ROUTER_LAN)):
            run("ip", "link", "add", f"d-{host}", "type", "veth", "peer", "name", f"e-{host}")
            run("ip", "link", "set", f"d-{host}", "netns", host)
            run("ip", "link", "set", f"e-{host}", "master", "br1")
            run("ip", "link", "set", f"e-{host}", "up")
            run(*in_host(host, ["ip", "addr", "add", f"{address}/24", "dev", f"d-{host}"]))
            run(*in_host(host, ["ip", "link", "set", f"d-{host}", "up"]))
        for host in ("srv", "agt"):
            run(*in_host(host, ["ip", "route", "add", "default", "via", DEALER_ROUTER_LAN]))
        run(*in_host("drt", ["sysctl", "-qw", "net.ipv4.ip_forward=1"]))
        run(*in_host("drt", ["nft", "-f", "-"]), stdin=PORT_FORWARD)

    def _link(self, host: str, address: str, router: str, router_address: str) -> None:
        """A LAN of one ``host`` behind ``router``, its default route through it."""
        run("ip", "link", "add", f"l-{host}", "type", "veth", "peer", "name", f"l-{router}")
        run("ip", "link", "set", f"l-{host}", "netns", host)
        run("ip", "link", "set", f"l-{router}", "netns", router)
        run(*in_host(host, ["ip", "addr", "add", f"{address}/24", "dev", f"l-{host}"]))
        run(*in_host(host, ["ip", "link", "set", f"l-{host}", "up"]))
        run(*in_host(router, ["ip", "addr", "add", f"{router_address}/24", "dev", f"l-{router}"]))
        run(*in_host(router, ["ip", "link", "set", f"l-{router}", "up"]))
        run(*in_host(host, ["ip", "route", "add", "default", "via", router_address]))

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
