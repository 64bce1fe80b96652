"""ICE policy of the SFU: which addresses, servers and ports the PCs use.

``sfu`` must not import ``config``; it types the settings against
:class:`IceSettingsLike`, which ``vidzzle_media.config.IceSettings`` satisfies.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Callable, Protocol

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection
from aiortc.rtcconfiguration import RTCBundlePolicy

from . import aiortc_glue


class IceSettingsLike(Protocol):
    """The fields the SFU reads (see docs/configuration.md, section ``ice``)."""

    host_addresses: list[str]
    announced_addresses: list[str]
    stun_servers: list[str]
    turn_servers: list[str]
    turn_username: str
    turn_password: str
    udp_port_min: int
    udp_port_max: int


@dataclass
class DefaultIce:
    """Stand-alone defaults (tests, tools): loopback only, no servers."""

    host_addresses: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    """Loopback: nothing leaves the machine."""
    announced_addresses: list[str] = field(default_factory=list)
    """No NAT in front of the loopback."""
    stun_servers: list[str] = field(default_factory=list)
    """Never Google's STUN by default."""
    turn_servers: list[str] = field(default_factory=list)
    """No relay."""
    turn_username: str = ""
    """TURN credential user name."""
    turn_password: str = ""
    """TURN credential password."""
    udp_port_min: int = 0
    """0: any port."""
    udp_port_max: int = 0
    """0: any port."""


class IcePolicy:
    """Applies one :class:`IceSettingsLike` to the server's peer connections.

    Why a class: the settings are read once; every PC then gets the same
    RTCConfiguration, the same address filter and port range.
    """

    def __init__(self, settings: IceSettingsLike, *, turn_credential: Callable[[], tuple[str, str]] | None = None) -> None:
        """``turn_credential`` gives the (user name, password) for the TURN
        servers, asked anew for every PC (short-lived credentials); default:
        the static ``turn_username``/``turn_password``."""
        self.settings = settings
        self._turn_credential = turn_credential or (lambda: (settings.turn_username, settings.turn_password))
        if bool(settings.udp_port_min) != bool(settings.udp_port_max) or (
            settings.udp_port_min and settings.udp_port_min > settings.udp_port_max
        ):
            raise ValueError("udp_port_min/udp_port_max must both be 0 or a valid range")
        hosts = [ipaddress.ip_address(a) for a in settings.host_addresses]
        #: with loopback-only hosts, only loopback peers may talk to us
        self._loopback_only = bool(hosts) and all(h.is_loopback for h in hosts)
        aiortc_glue.set_host_addresses(list(settings.host_addresses) or None)

    def configuration(self) -> RTCConfiguration:
        """Explicit configuration (aiortc would otherwise use Google's STUN)."""
        s = self.settings
        servers: list[RTCIceServer] = []
        if s.stun_servers:
            servers.append(RTCIceServer(urls=list(s.stun_servers)))
        if s.turn_servers:
            username, password = self._turn_credential()
            servers.append(RTCIceServer(urls=list(s.turn_servers), username=username, credential=password))
        return RTCConfiguration(iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)

    def media_addresses(self) -> set[str]:
        """Where the SFU's media sockets live: the only peers the built-in relay may relay to."""
        return set(aiortc_glue.host_addresses())

    def allowed_source(self, address: str) -> bool:
        """Whether an ICE datagram from ``address`` is accepted."""
        if not self._loopback_only:
            return True
        try:
            return ipaddress.ip_address(address).is_loopback
        except ValueError:
            return False

    def before_gather(self, pc: RTCPeerConnection) -> None:
        """Hook a PC before ``setLocalDescription`` gathers its candidates."""
        aiortc_glue.bind_port_range(pc, self.settings.udp_port_min, self.settings.udp_port_max)

    def announce(self, sdp: str) -> str:
        """Offer the announced addresses (a port-forward or 1:1 NAT in front
        of this machine) next to the host addresses, each host candidate
        followed by its announced twin on the same port.

        Both, because an install behind the dealer's router has browsers on
        both sides of it: the agents on the LAN reach the host address
        directly (no router has to reflect traffic back inside), customers
        on the internet reach the announced one. ``announced_addresses[i]``
        belongs to ``host_addresses[i]``; a single announced address belongs
        to every IPv4 host address. The twin has a priority one lower, so a
        browser that can reach both uses the direct one.
        """
        s = self.settings
        if not s.announced_addresses:
            return sdp
        pairs = dict(zip(s.host_addresses, s.announced_addresses, strict=False))
        single = s.announced_addresses[0] if len(s.announced_addresses) == 1 else None

        def twin(m: re.Match[str]) -> str:
            line, address = m.group(0), m.group("address")
            announced = single if single is not None and ":" not in address else pairs.get(address)
            if announced is None or announced == address:
                return line
            return (f"{line}\r\na=candidate:a{m.group('foundation')} {m.group('component')} {m.group('transport')} "
                    f"{int(m.group('priority')) - 1} {announced} {m.group('port')} typ host{m.group('rest')}")

        return _CANDIDATE.sub(twin, sdp)


_CANDIDATE = re.compile(r"a=candidate:(?P<foundation>\S+) (?P<component>\d+) (?P<transport>\S+) (?P<priority>\d+) "
                        r"(?P<address>\S+) (?P<port>\d+) typ host(?P<rest>[^\r\n]*)")
