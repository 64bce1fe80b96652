"""Install-wide counts for /metrics (operations view: across all tenants)."""

from __future__ import annotations

from ..values import CallState, MissReason
from .database import Database

CALL_STATES = tuple(CallState)


async def calls_by_state(db: Database) -> dict[str, int]:
    rows = await db.fetchall("SELECT state, COUNT(*) FROM calls GROUP BY state")
    counts: dict[str, int] = {state: 0 for state in CALL_STATES}
    counts.update({row[0]: row[1] for row in rows})
    return counts


async def unaccepted_by_reason(db: Database) -> dict[str, int]:
    """Every cause of ``values.MissReason`` with its count of call records (0 included)."""
    rows = await db.fetchall("SELECT miss_reason, COUNT(*) FROM calls WHERE miss_reason != '' GROUP BY miss_reason")
    counts: dict[str, int] = {reason: 0 for reason in MissReason}
    counts.update({row[0]: row[1] for row in rows})
    return counts


async def open_callbacks(db: Database) -> int:
    """Callback requests not done yet, across all tenants."""
    return int(await db.fetchval("SELECT COUNT(*) FROM callbacks WHERE state != 'done'") or 0)


async def webhook_failures(db: Database) -> tuple[int, int]:
    """(failed delivery attempts, webhooks given up) since the install began."""
    attempts = await db.fetchval(
        "SELECT COUNT(*) FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id"
        " WHERE o.kind = 'webhook' AND a.ok = 0")
    given_up = await db.fetchval("SELECT COUNT(*) FROM outbox WHERE kind = 'webhook' AND state = 'failed'")
    return attempts or 0, given_up or 0


async def oldest_queued(db: Database) -> str | None:
    """Creation time of the oldest undelivered outbox item (None: queue empty)."""
    oldest = await db.fetchval("SELECT MIN(created_at) FROM outbox WHERE state = 'queued'")
    return str(oldest) if oldest is not None else None
