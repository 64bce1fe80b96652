"""Memory settings of the server process itself.

glibc gives every thread that calls ``malloc`` an arena of its own, up to
eight per core, and an arena keeps what it once held: a freed block goes
back to the arena, not to the system, and once a large block has been
freed glibc serves blocks of that size from arenas instead of mmap. The
server's threads are few but busy with large buffers (the presentation
renderer's images and encoder, SQLite's connections, the password hasher,
aiortc's DTLS), so with the default every one of them kept its own
high-water mark: ``bench/soak.py`` measured 321 MB of RSS at 10 concurrent
calls, 238 MB with two arenas, at the same CPU. Two arenas: the event loop
thread rarely contends with the few helper threads for malloc's lock.
"""

from __future__ import annotations

import ctypes
import logging
import os
import platform

log = logging.getLogger(__name__)

MALLOC_ARENAS = 2
_M_ARENA_MAX = -8
"""``mallopt`` parameter number of M_ARENA_MAX (glibc's malloc.h)."""


def limit_malloc_arenas(count: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas at ``count``; call before threads start.

    Leaves the process as it is (False) on another C library, or when the
    operator set ``MALLOC_ARENA_MAX`` (glibc read it at start: that wins)."""
    if "MALLOC_ARENA_MAX" in os.environ or platform.libc_ver()[0] != "glibc":
        return False
    try:
        return bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, count))
    except (OSError, AttributeError):      # no symbol table to search: a static build
        log.debug("mallopt not available; malloc arenas left at glibc's default")
        return False
