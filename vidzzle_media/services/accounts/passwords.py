"""Argon2id password hashes (PHC strings) computed off the event loop.

A hash costs tens of milliseconds and ~19 MiB, so it runs off the event loop
and callers throttle BEFORE hashing (services/throttle.py). It runs in ONE
thread of its own, one hash at a time: in asyncio's shared pool, ten agents
logging in at once hashed in six threads, each with its own malloc arena
that kept its 19 MiB blocks after the hash (glibc raises its mmap threshold
once such a block is freed), and the server's RSS grew by 200 MB for good
(found by bench/soak.py). One at a time costs the tenth login about half a
second on this hardware, and a flood of logins cannot take more memory.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, TypeVar

from cryptography.exceptions import InvalidKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

from ...i18n import gettext

# OWASP minimum recommendation for Argon2id: m=19 MiB, t=2, p=1.
MEMORY_KIB = 19 * 1024
ITERATIONS = 2
LANES = 1
MIN_LENGTH = 8
MAX_LENGTH = 512

# A fixed hash verified for unknown accounts so timing does not reveal them.
_DUMMY: str | None = None

_HASHING = ThreadPoolExecutor(max_workers=1, thread_name_prefix="argon2")
T = TypeVar("T")


async def _off_loop(fn: Callable[..., T], *args: str) -> T:
    return await asyncio.get_running_loop().run_in_executor(_HASHING, fn, *args)


def _hash_sync(password: str) -> str:
    kdf = Argon2id(salt=os.urandom(16), length=32, iterations=ITERATIONS, lanes=LANES, memory_cost=MEMORY_KIB)
    return kdf.derive_phc_encoded(password.encode("utf-8"))


def _verify_sync(password: str, phc: str) -> bool:
    try:
        Argon2id.verify_phc_encoded(password.encode("utf-8"), phc)
    except (InvalidKey, ValueError):
        return False
    return True


async def hash_password(password: str) -> str:
    return await _off_loop(_hash_sync, password)


async def verify_password(password: str, phc: str | None) -> bool:
    """True when ``password`` matches; for a missing hash a dummy is checked
    anyway so both cases take the same time."""
    global _DUMMY
    if not phc:
        if _DUMMY is None:
            _DUMMY = await hash_password("dummy-password-for-timing")
        await _off_loop(_verify_sync, password, _DUMMY)
        return False
    return await _off_loop(_verify_sync, password, phc)


def password_problem(password: str) -> str | None:
    """A message when the password is not acceptable, else None."""
    if len(password) < MIN_LENGTH:
        return gettext("Use at least %(count)s characters.", count=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return gettext("Use at most %(count)s characters.", count=MAX_LENGTH)
    if not password.strip():
        return gettext("The password must not be only spaces.")
    return None
