"""Per-client-address rate limits of the public call API (in memory).

A sliding window per (bucket, address): enough to stop a script from
flooding agents with rings; one process means no shared store is needed.
Behind a reverse proxy the address is the proxy's unless aiohttp is told
the forwarded address.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from ..errors import TooManyRequests
from ..i18n import gettext


@dataclass
class RateLimiter:
    """At most ``limit`` hits per ``window_s`` seconds per key."""

    limit: int
    window_s: float
    clock: Callable[[], float] = time.monotonic
    _hits: dict[str, deque] = field(default_factory=dict)

    def hit(self, key: str) -> None:
        """Count one request; raises TooManyRequests when over the limit."""
        now = self.clock()
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        if len(hits) >= self.limit:
            retry = max(1, int(hits[0] + self.window_s - now + 0.999))
            raise TooManyRequests(gettext("Too many requests from your address. Please wait a moment."),
                                  retry_after=retry)
        hits.append(now)
        if len(self._hits) > 10000:
            self._sweep(now)

    def _sweep(self, now: float) -> None:
        for key in [k for k, h in self._hits.items() if not h or h[-1] <= now - self.window_s]:
            del self._hits[key]
