"""Short-lived TURN credentials: coturn's "TURN REST API" scheme.

The user name is ``<expiry unix time>:<who>`` and the password is
base64(HMAC-SHA1(secret, user name)). The server hands a fresh pair to
each browser with the call (signalling's ``joined``); the relay checks a
pair by recomputing the password, so nothing is stored. The same scheme
lets several nodes, or an external coturn with ``use-auth-secret``, accept
the same credentials when they share the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass


@dataclass(frozen=True)
class Credential:
    """What a browser puts into RTCIceServer."""

    username: str
    password: str
    expires_at: int
    """Unix time after which the relay refuses new allocations with it."""


def password_for(secret: bytes, username: str) -> str:
    return base64.b64encode(hmac.new(secret, username.encode("utf-8"), hashlib.sha1).digest()).decode("ascii")


def issue(secret: bytes, who: str, ttl_s: int, now: float) -> Credential:
    """A credential for ``who`` (any label, e.g. a participant) valid ``ttl_s`` seconds from ``now``."""
    expires = int(now) + ttl_s
    username = f"{expires}:{who}"
    return Credential(username, password_for(secret, username), expires)


def expiry(username: str) -> int | None:
    """The expiry a user name carries (None: not of this scheme)."""
    stamp, sep, _ = username.partition(":")
    return int(stamp) if sep and stamp.isdigit() and len(stamp) <= 12 else None
