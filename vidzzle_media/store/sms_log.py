"""SQL of the `log` SMS sender: messages kept in the database instead of sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .database import Database
from .outbox import iso


@dataclass
class SmsLogEntry:
    """One SMS the `log` sender "sent" (support sees these in the back office)."""

    id: int
    outbox_id: int
    tenant_id: int | None
    recipient: str
    text: str
    created_at: str


async def insert(db: Database, *, outbox_id: int, tenant_id: int | None, recipient: str, text: str,
                 now: datetime) -> None:
    """Store once per outbox item: a repeated attempt (after a crash) adds nothing."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO sms_log (outbox_id, tenant_id, recipient, text, created_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (outbox_id) DO NOTHING",
            (outbox_id, tenant_id, recipient, text, iso(now)),
        )


async def list_entries(db: Database, *, tenant_id: int | None = None, limit: int = 200) -> list[SmsLogEntry]:
    """Newest first; ``tenant_id`` None lists every tenant (support)."""
    sql = "SELECT id, outbox_id, tenant_id, recipient, text, created_at FROM sms_log"
    params: tuple[object, ...] = ()
    if tenant_id is not None:
        sql += " WHERE tenant_id = ?"
        params = (tenant_id,)
    rows = await db.fetchall(sql + " ORDER BY created_at DESC, id DESC LIMIT ?", (*params, int(limit)))
    return [SmsLogEntry(*tuple(row)) for row in rows]
