"""Reads the data a mail is rendered with: the tenant's dealer data and the appname.

Works on either the caller's writer connection (inside ``db.transaction()``,
so a tenant created in the same transaction is seen) or the Database.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._rows import fetchone


@dataclass
class Dealer:
    """A tenant's company data used in mail variables (R-ROLE, R-BRAND-5)."""

    name: str = ""
    street: str = ""
    zip: str = ""
    city: str = ""
    email: str = ""


async def dealer(conn_or_db: Any, tenant_id: int | None) -> Dealer | None:
    """The tenant's dealer data; None for no tenant (support mails) or an unknown id."""
    if tenant_id is None:
        return None
    row = await fetchone(conn_or_db, "SELECT name, street, zip, city, email FROM tenants WHERE id = ?", (tenant_id,))
    if row is None:
        return None
    return Dealer(name=row[0], street=row[1], zip=row[2], city=row[3], email=row[4])


async def system_setting(conn_or_db: Any, key: str) -> str | None:
    row = await fetchone(conn_or_db, "SELECT value FROM system_settings WHERE key = ?", (key,))
    return None if row is None else row[0]
