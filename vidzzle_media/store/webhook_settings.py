"""Per-tenant webhook settings (SQL only; validation lives in services/webhook_settings.py)."""

from __future__ import annotations

from dataclasses import dataclass

from ._rows import Connection, fetchone
from .database import Database, utcnow


@dataclass
class WebhookSettingsRow:
    """Start/end targets of one tenant and its signing secret."""

    tenant_id: int
    start_url: str = ""
    start_headers: str = ""
    end_url: str = ""
    end_headers: str = ""
    callback_url: str = ""
    """Where ``callback.requested`` goes ("" for nowhere)."""
    callback_headers: str = ""
    secret: str = ""
    secret_created_at: str | None = None


_COLUMNS = ", ".join(WebhookSettingsRow.__dataclass_fields__)


async def get(db: Database, tenant_id: int) -> WebhookSettingsRow:
    row = await db.fetchone(
        f"SELECT {_COLUMNS}"
        " FROM webhook_settings WHERE tenant_id = ?",
        (tenant_id,),
    )
    if row is None:
        return WebhookSettingsRow(tenant_id)
    return WebhookSettingsRow(**{k: row[k] for k in WebhookSettingsRow.__dataclass_fields__})


async def get_in(conn: Connection, tenant_id: int) -> WebhookSettingsRow:
    """Same as ``get`` but inside the caller's transaction."""
    row = await fetchone(conn, f"SELECT {_COLUMNS} FROM webhook_settings WHERE tenant_id = ?", (tenant_id,))
    if row is None:
        return WebhookSettingsRow(tenant_id)
    return WebhookSettingsRow(**{k: row[k] for k in WebhookSettingsRow.__dataclass_fields__})


async def save_urls(conn: Connection, tenant_id: int, start_url: str, start_headers: str, end_url: str,
                    end_headers: str, callback_url: str = "", callback_headers: str = "") -> None:
    await conn.execute(
        "INSERT INTO webhook_settings(tenant_id, start_url, start_headers, end_url, end_headers, callback_url,"
        " callback_headers, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(tenant_id) DO UPDATE SET"
        " start_url = excluded.start_url, start_headers = excluded.start_headers, end_url = excluded.end_url,"
        " end_headers = excluded.end_headers, callback_url = excluded.callback_url,"
        " callback_headers = excluded.callback_headers, updated_at = excluded.updated_at",
        (tenant_id, start_url, start_headers, end_url, end_headers, callback_url, callback_headers, utcnow()),
    )


async def save_secret(conn: Connection, tenant_id: int, secret: str) -> None:
    now = utcnow()
    await conn.execute(
        "INSERT INTO webhook_settings(tenant_id, secret, secret_created_at, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(tenant_id) DO UPDATE SET secret = excluded.secret,"
        " secret_created_at = excluded.secret_created_at, updated_at = excluded.updated_at",
        (tenant_id, secret, now, now),
    )
