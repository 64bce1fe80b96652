"""Tenants (dealers / locations) and their dealer data."""

from __future__ import annotations

from dataclasses import dataclass

from ._rows import Connection, Executor, Row, fetchall, fetchone, inserted_id, maybe

_COLUMNS = "id, name, street, zip, city, email, timezone, created_at, language"


@dataclass(frozen=True)
class TenantRecord:
    """One row of ``tenants``; the dealer data feeds the email variables."""

    id: int
    name: str
    """Company name (__DEALER_NAME__ / __DEALER_COMPANY_NAME__)."""
    street: str
    zip: str
    city: str
    email: str
    timezone: str
    """IANA zone name, used for business hours and "today" in statistics."""
    created_at: str
    language: str = "de"
    """Default language of the tenant's staff, customers, mails and SMS."""


def _tenant(row: Row) -> TenantRecord:
    return TenantRecord(*(row[k] for k in
                                                   ("id", "name", "street", "zip", "city", "email", "timezone", "created_at",
                                                    "language")))


async def get_tenant(ex: Executor, tenant_id: int) -> TenantRecord | None:
    return maybe(_tenant, await fetchone(ex, f"SELECT {_COLUMNS} FROM tenants WHERE id = ?", (tenant_id,)))


async def list_tenants(ex: Executor) -> list[TenantRecord]:
    rows = await fetchall(ex, f"SELECT {_COLUMNS} FROM tenants ORDER BY lower(name), id")
    return [_tenant(r) for r in rows]


async def insert_tenant(conn: Connection, *, name: str, street: str, zip: str, city: str, email: str,
                        timezone: str, now: str, language: str = "de") -> int:
    cursor = await conn.execute(
        "INSERT INTO tenants(name, street, zip, city, email, timezone, created_at, language)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (name, street, zip, city, email, timezone, now, language))
    return inserted_id(cursor)


async def update_tenant(conn: Connection, tenant_id: int, *, name: str, street: str, zip: str, city: str,
                        email: str, timezone: str, language: str | None = None) -> bool:
    cursor = await conn.execute(
        "UPDATE tenants SET name = ?, street = ?, zip = ?, city = ?, email = ?, timezone = ?,"
        " language = COALESCE(?, language) WHERE id = ?",
        (name, street, zip, city, email, timezone, language, tenant_id))
    return cursor.rowcount == 1


async def delete_tenant(conn: Connection, tenant_id: int) -> bool:
    """Delete a tenant and, by ON DELETE CASCADE, everything it owns."""
    cursor = await conn.execute("DELETE FROM tenants WHERE id = ?", (tenant_id,))
    return cursor.rowcount == 1
