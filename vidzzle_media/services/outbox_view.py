"""What support sees of the outbox: undelivered mails and SMS."""

from __future__ import annotations

from ..store import outbox_view as store
from ..store.outbox_view import OutboxItem


async def undelivered(db, limit: int = 500) -> list[OutboxItem]:
    return await store.undelivered(db, limit)
