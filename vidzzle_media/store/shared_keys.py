"""Keys every node of a shared store uses alike (the session cookie's, the
room tokens'), kept in ``system_settings``: the first node to ask makes
one, every later ask on any node reads that one."""

from __future__ import annotations

import base64
import os

from .database import Database


async def shared_key(db: Database, name: str) -> bytes:
    """32 random bytes under ``name``, the same for every node of ``db``."""
    key = f"key.{name}"
    fresh = base64.urlsafe_b64encode(os.urandom(32)).decode()
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO system_settings(key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                           (key, fresh))
    value = await db.fetchval("SELECT value FROM system_settings WHERE key = ?", (key,))
    return base64.urlsafe_b64decode(value)
