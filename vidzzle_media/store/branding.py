"""Branding values and images per tenant, with the system defaults under tenant_id NULL.

Every function takes a Database or a transaction's writer connection (the
mail renderer and the SMS notifier read branding inside their transaction).
"""

from __future__ import annotations

from dataclasses import dataclass

from ._rows import Connection, Executor, fetchall, fetchone


@dataclass(frozen=True)
class StoredImage:
    """A header or hero image as stored (already validated)."""

    kind: str
    """``header`` or ``hero``."""
    mime: str
    """image/png, image/gif or image/jpeg."""
    data: bytes
    tenant_id: int | None
    """Owner; None for the system default."""


def _scope(tenant_id: int | None) -> int:
    return 0 if tenant_id is None else tenant_id


async def values(ex: Executor, tenant_id: int | None) -> dict[str, str]:
    """The values stored at exactly this level (tenant or system)."""
    rows = await fetchall(ex, "SELECT key, value FROM branding_values WHERE COALESCE(tenant_id, 0) = ?",
                          (_scope(tenant_id),))
    return {r["key"]: r["value"] for r in rows}


async def layered_values(ex: Executor, tenant_id: int | None) -> tuple[dict[str, str], dict[str, str]]:
    """(system values, tenant values) in one query; tenant values empty for None."""
    rows = await fetchall(ex, "SELECT tenant_id, key, value FROM branding_values WHERE COALESCE(tenant_id, 0) IN (0, ?)",
                          (_scope(tenant_id),))
    system = {r["key"]: r["value"] for r in rows if r["tenant_id"] is None}
    tenant = {r["key"]: r["value"] for r in rows if r["tenant_id"] is not None}
    return system, tenant


async def save_values(conn: Connection, tenant_id: int | None, items: dict[str, str], at: str) -> None:
    """Set (or, for an empty value, remove: fall back) the given keys."""
    for key, value in items.items():
        await conn.execute("DELETE FROM branding_values WHERE COALESCE(tenant_id, 0) = ? AND key = ?",
                           (_scope(tenant_id), key))
        if value != "":
            await conn.execute("INSERT INTO branding_values(tenant_id, key, value, updated_at) VALUES (?, ?, ?, ?)",
                               (tenant_id, key, value, at))


async def image(ex: Executor, tenant_id: int | None, kind: str, *, fallback: bool = True) -> StoredImage | None:
    """The tenant's image, else (with fallback) the system default one."""
    scopes = (_scope(tenant_id), 0) if fallback else (_scope(tenant_id),)
    row = await fetchone(ex, "SELECT tenant_id, kind, mime, data FROM branding_images"
                             f" WHERE kind = ? AND COALESCE(tenant_id, 0) IN ({','.join('?' * len(scopes))})"
                             " ORDER BY COALESCE(tenant_id, 0) DESC LIMIT 1", (kind, *scopes))
    return None if row is None else StoredImage(row["kind"], row["mime"], bytes(row["data"]), row["tenant_id"])


async def image_kinds(ex: Executor, tenant_id: int | None) -> set[str]:
    rows = await fetchall(ex, "SELECT kind FROM branding_images WHERE COALESCE(tenant_id, 0) = ?", (_scope(tenant_id),))
    return {r["kind"] for r in rows}


async def save_image(conn: Connection, tenant_id: int | None, kind: str, mime: str, data: bytes, at: str) -> None:
    await delete_image(conn, tenant_id, kind)
    await conn.execute("INSERT INTO branding_images(tenant_id, kind, mime, data, updated_at) VALUES (?, ?, ?, ?, ?)",
                       (tenant_id, kind, mime, data, at))


async def delete_image(conn: Connection, tenant_id: int | None, kind: str) -> bool:
    cursor = await conn.execute("DELETE FROM branding_images WHERE COALESCE(tenant_id, 0) = ? AND kind = ?",
                                (_scope(tenant_id), kind))
    return cursor.rowcount > 0


async def get_setting(ex: Executor, key: str) -> str | None:
    row = await fetchone(ex, "SELECT value FROM system_settings WHERE key = ?", (key,))
    return None if row is None else row["value"]


async def set_setting(conn: Connection, key: str, value: str) -> None:
    await conn.execute("DELETE FROM system_settings WHERE key = ?", (key,))
    if value:
        await conn.execute("INSERT INTO system_settings(key, value) VALUES (?, ?)", (key, value))
