"""The one way out: which addresses the server's own HTTP requests may reach.

A tenant types a webhook URL and the server POSTs to it; without a rule
that is a door into the dealer's network (the router's admin page, a
database on the LAN, the cloud's metadata service at 169.254.169.254).
So every outbound request (webhooks, the SMS gateway) goes through here:

- only addresses on the public internet: no loopback, private, CGNAT,
  link-local (metadata), multicast, unspecified or reserved ones, in any
  spelling — IPv4 as ``2130706433``, ``0177.0.0.1``, ``127.1``,
  ``0x7f000001``; IPv6; IPv4-mapped IPv6 — because names and odd spellings
  are turned into addresses by the same resolver that connects;
- except what the operator allows (``outbound.allow``, CIDRs, e.g. a CRM
  on the LAN);
- checked when a URL is saved AND when each connection is made: the
  session's resolver refuses a name that resolves to a forbidden address,
  and the connection goes to exactly the address it checked (no DNS cache,
  no second lookup), so DNS rebinding cannot switch it; literal IP hosts,
  which aiohttp does not resolve, are checked when the request starts (a
  trace hook of the same session);
- no redirects (callers pass ``allow_redirects=False``).

What a tenant sees of a failure is a category (``category``), never a raw
socket error: a delivery log must not become a port scanner.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from typing import Awaitable, Callable
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from ..i18n import gettext

REFUSED = "refused by policy"
TIMEOUT = "timeout"
TLS = "TLS error"
CONNECTION = "connection failed"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Lookup = Callable[[str], Awaitable[list[str]]]


class Refused(Exception):
    """A request to an address the policy forbids (not an OSError: aiohttp lets it through as it is)."""

    def __init__(self, host: str):
        super().__init__(f"{host}: {REFUSED}")
        self.host = host


NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _address(text: str) -> Address:
    """The address ``text`` really reaches: IPv4 inside IPv4-mapped, 6to4 and NAT64 IPv6 unwrapped."""
    address = ipaddress.ip_address(text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        if address in NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is not None:
            return embedded
    return address


@dataclass(frozen=True)
class OutboundPolicy:
    allow: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    """Networks the operator opened (outbound.allow)."""

    @classmethod
    def from_cidrs(cls, cidrs: list[str]) -> "OutboundPolicy":
        return cls(tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip()))

    def permits(self, text: str) -> bool:
        try:
            address = _address(text)
        except ValueError:
            return False
        if any(address in network for network in self.allow):
            return True
        if isinstance(address, ipaddress.IPv6Address) and address.teredo:
            return False
        return address.is_global and not address.is_multicast

    def check_literal(self, url: str) -> None:
        """Refuse a URL whose host is a forbidden IP literal (names are the resolver's job)."""
        host = urlsplit(url).hostname or ""
        try:
            _address(host)
        except ValueError:
            return
        if not self.permits(host):
            raise Refused(host)


async def system_lookup(host: str) -> list[str]:
    """Every address ``host`` resolves to (the C library: it reads every IPv4 spelling too)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


async def url_problem(url: str, policy: OutboundPolicy, lookup: Lookup = system_lookup) -> str | None:
    """Why the server must not send to ``url`` (None: it may), for the form that saves it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port   # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return gettext("Not a valid URL.")
    if parts.scheme not in ("http", "https") or not host:
        return gettext("Enter a full http:// or https:// URL.")
    try:
        addresses = await asyncio.wait_for(lookup(host), 5)
    except (OSError, asyncio.TimeoutError, UnicodeError):
        return gettext("The host name %(host)s cannot be resolved.", host=host)
    if not addresses or not all(policy.permits(a) for a in addresses):
        return gettext("The server does not send to %(host)s: only addresses on the public internet are allowed "
                       "(an administrator can allow internal networks with outbound.allow).", host=host)
    return None


class PolicyResolver(AbstractResolver):
    """aiohttp's resolver with the policy applied to every answer."""

    def __init__(self, policy: OutboundPolicy, inner: AbstractResolver | None = None):
        self.policy = policy
        self.inner = inner or ThreadedResolver()

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        if not results or not all(self.policy.permits(r["host"]) for r in results):
            raise Refused(host)
        return results

    async def close(self) -> None:
        await self.inner.close()


def client_session(policy: OutboundPolicy, inner: AbstractResolver | None = None) -> aiohttp.ClientSession:
    """The session every outbound sender uses: names resolved and checked per
    connection (never cached), literal IP hosts checked as each request starts."""
    async def on_request_start(session, context, params) -> None:
        policy.check_literal(str(params.url))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_request_start)
    connector = aiohttp.TCPConnector(resolver=PolicyResolver(policy, inner), use_dns_cache=False)
    return aiohttp.ClientSession(connector=connector, trace_configs=[trace])


def category(exc: BaseException) -> str:
    """What a tenant may read of a failed request."""
    if isinstance(exc, (Refused, aiohttp.InvalidURL)):   # aiohttp refuses odd address spellings itself
        return REFUSED
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return TIMEOUT
    if isinstance(exc, (ssl.SSLError, aiohttp.ClientSSLError)):
        return TLS
    return CONNECTION
