"""The STUN and TURN servers every browser and the SFU's own ICE agent use.

An install may name its own TURN servers (``ice.turn_servers``: an IT
department's coturn, a hosted TURN service), with a static user name and
password or, with ``ice.turn_secret``, coturn's ``use-auth-secret`` scheme:
every browser gets its own short-lived pair (``relay/credentials.py``), so
no lasting TURN password ever reaches a browser. Browsers get every
configured server, then the built-in relay; the server's own agent gets
the same list, of which aiortc uses the first STUN and the first usable
TURN URL.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from .config import IceSettings
from .relay import credentials

BuiltIn = Callable[[str], list[dict]]
"""The built-in relay's entries for a request's host (app._relay)."""


@dataclass(frozen=True)
class TurnAccount:
    """The credentials of the configured TURN servers."""

    username: str = ""
    password: str = ""
    secret: bytes = b""
    """coturn's static-auth-secret; when set, ``username``/``password`` are not used."""
    ttl_s: int = 86400
    """How long an issued pair is valid; coturn checks it on every refresh, so it must outlast a call."""

    @classmethod
    def from_settings(cls, ice: IceSettings) -> TurnAccount:
        return cls(ice.turn_username, ice.turn_password, ice.turn_secret.encode("utf-8"), ice.turn_credential_ttl_s)

    def credential(self, who: str = "vidzzle") -> tuple[str, str]:
        """A (user name, password) pair for one browser or one server connection."""
        if self.secret:
            issued = credentials.issue(self.secret, who, self.ttl_s, time.time())
            return issued.username, issued.password
        return self.username, self.password


class IceServers:
    """``RTCIceServer`` dicts for a browser: configured STUN, configured TURN, the built-in relay."""

    def __init__(self, ice: IceSettings, account: TurnAccount, built_in: BuiltIn | None = None) -> None:
        self.stun = list(ice.stun_servers)
        self.turn = list(ice.turn_servers)
        self.account = account
        self.built_in = built_in

    def __call__(self, request_host: str) -> list[dict]:
        servers: list[dict] = []
        if self.stun:
            servers.append({"urls": self.stun})
        if self.turn:
            username, password = self.account.credential("call")
            servers.append({"urls": self.turn, "username": username, "credential": password})
        if self.built_in is not None:
            servers += self.built_in(request_host)
        return servers
