"""The presentation library of a tenant (R-BRAND-4): rows only; the PDF files
live under the data dir and are managed by services/presentations.py."""

from __future__ import annotations

from dataclasses import dataclass

from ._rows import Connection, Executor, Row, fetchall, fetchcount, fetchone, inserted_id, maybe

_COLUMNS = "id, tenant_id, title, file_name, size_bytes, pages, is_default, created_at"


@dataclass(frozen=True)
class PresentationRow:
    """One uploaded PDF."""

    id: int
    tenant_id: int
    title: str
    file_name: str
    """Path relative to server.data_dir."""
    size_bytes: int
    pages: int
    is_default: bool
    """Shown first in every call of the tenant."""
    created_at: str


def _row(r: Row) -> PresentationRow:
    return PresentationRow(r["id"], r["tenant_id"], r["title"], r["file_name"], r["size_bytes"], r["pages"],
                           bool(r["is_default"]), r["created_at"])


async def list_for_tenant(ex: Executor, tenant_id: int) -> list[PresentationRow]:
    """Default first, then newest first."""
    rows = await fetchall(ex, f"SELECT {_COLUMNS} FROM presentations WHERE tenant_id = ?"
                              " ORDER BY is_default DESC, created_at DESC, id DESC", (tenant_id,))
    return [_row(r) for r in rows]


async def get(ex: Executor, tenant_id: int, presentation_id: int) -> PresentationRow | None:
    return maybe(_row, await fetchone(ex, f"SELECT {_COLUMNS} FROM presentations WHERE tenant_id = ? AND id = ?",
                               (tenant_id, presentation_id)))


async def thumbnail(ex: Executor, tenant_id: int, presentation_id: int) -> bytes | None:
    r = await fetchone(ex, "SELECT thumbnail FROM presentations WHERE tenant_id = ? AND id = ?",
                       (tenant_id, presentation_id))
    return None if r is None else bytes(r["thumbnail"])


async def count(ex: Executor, tenant_id: int) -> int:
    return await fetchcount(ex, "SELECT COUNT(*) AS n FROM presentations WHERE tenant_id = ?", (tenant_id,))


async def insert(conn: Connection, *, tenant_id: int, title: str, file_name: str, size_bytes: int, pages: int,
                 thumbnail: bytes, make_default: bool, at: str) -> int:
    if make_default:
        await conn.execute("UPDATE presentations SET is_default = 0 WHERE tenant_id = ? AND is_default = 1", (tenant_id,))
    cursor = await conn.execute(
        "INSERT INTO presentations(tenant_id, title, file_name, size_bytes, pages, thumbnail, is_default, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (tenant_id, title, file_name, size_bytes, pages, thumbnail, int(make_default), at))
    return inserted_id(cursor)


async def set_default(conn: Connection, tenant_id: int, presentation_id: int) -> bool:
    found = await fetchone(conn, "SELECT id FROM presentations WHERE tenant_id = ? AND id = ?",
                           (tenant_id, presentation_id))
    if found is None:
        return False
    await conn.execute("UPDATE presentations SET is_default = 0 WHERE tenant_id = ? AND is_default = 1", (tenant_id,))
    await conn.execute("UPDATE presentations SET is_default = 1 WHERE tenant_id = ? AND id = ?",
                       (tenant_id, presentation_id))
    return True


async def delete(conn: Connection, tenant_id: int, presentation_id: int) -> PresentationRow | None:
    """Remove the row; returns it (for the file) or None if not the tenant's."""
    row = await get(conn, tenant_id, presentation_id)
    if row is not None:
        await conn.execute("DELETE FROM presentations WHERE tenant_id = ? AND id = ?", (tenant_id, presentation_id))
    return row


async def put_file(conn: Connection, presentation_id: int, data: bytes) -> None:
    """The PDF itself, for the other nodes of a shared store."""
    await conn.execute("INSERT INTO presentation_files(presentation_id, data) VALUES (?, ?)", (presentation_id, data))


async def get_file(ex: Executor, presentation_id: int) -> bytes | None:
    row = await fetchone(ex, "SELECT data FROM presentation_files WHERE presentation_id = ?", (presentation_id,))
    return None if row is None else bytes(row["data"])
