"""One-time tokens (only their SHA-256 is stored) and login failures."""

from __future__ import annotations

from dataclasses import dataclass

from ._rows import Connection, Executor, fetchcount, fetchone


@dataclass(frozen=True)
class TokenRecord:
    """One row of ``one_time_tokens``."""

    token_hash: str
    purpose: str
    user_id: int | None
    tenant_id: int | None
    subject: str
    expires_at: str
    used_at: str | None


async def insert_token(conn: Connection, *, token_hash: str, purpose: str, user_id: int | None,
                       tenant_id: int | None, subject: str, expires_at: str, now: str) -> None:
    await conn.execute(
        "INSERT INTO one_time_tokens(token_hash, purpose, user_id, tenant_id, subject, expires_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (token_hash, purpose, user_id, tenant_id, subject, expires_at, now))


async def get_token(ex: Executor, token_hash: str, purpose: str) -> TokenRecord | None:
    row = await fetchone(ex, "SELECT token_hash, purpose, user_id, tenant_id, subject, expires_at, used_at"
                             " FROM one_time_tokens WHERE token_hash = ? AND purpose = ?", (token_hash, purpose))
    return None if row is None else TokenRecord(*row)


async def mark_used(conn: Connection, token_hash: str, now: str) -> bool:
    """Atomically use a token; False if it was used already."""
    cursor = await conn.execute("UPDATE one_time_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
                                (now, token_hash))
    return cursor.rowcount == 1


async def use_all_for_user(conn: Connection, user_id: int, purposes: tuple[str, ...], now: str) -> None:
    """Retire the user's other open links of these purposes (a set password ends them all)."""
    marks = ",".join("?" * len(purposes))
    await conn.execute(f"UPDATE one_time_tokens SET used_at = ? WHERE user_id = ? AND used_at IS NULL"
                       f" AND purpose IN ({marks})", (now, user_id, *purposes))


async def delete_expired(conn: Connection, before: str) -> None:
    await conn.execute("DELETE FROM one_time_tokens WHERE expires_at < ?", (before,))


# -- login throttling -------------------------------------------------------

async def count_failures(ex: Executor, key: str, since: str) -> int:
    return await fetchcount(ex, "SELECT COUNT(*) FROM login_failures WHERE key = ? AND at >= ?", (key, since))


async def add_failure(conn: Connection, key: str, at: str) -> None:
    await conn.execute("INSERT INTO login_failures(key, at) VALUES (?, ?)", (key, at))


async def clear_failures(conn: Connection, key: str) -> None:
    await conn.execute("DELETE FROM login_failures WHERE key = ?", (key,))


async def prune_failures(conn: Connection, before: str) -> None:
    await conn.execute("DELETE FROM login_failures WHERE at < ?", (before,))
