"""Read-only view of the outbox for the support "Outbox" page.

The outbox engineer owns the table's writers (store/outbox.py); this is the
one query the back office needs: mails and SMS not yet delivered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ._rows import Executor, fetchall


@dataclass(frozen=True)
class OutboxItem:
    """One undelivered email or SMS."""

    id: int
    tenant_id: int | None
    kind: str
    recipient: str
    summary: str
    """Mail subject or the SMS text (as far as the payload tells)."""
    state: str
    attempts: int
    next_attempt_at: str
    last_error: str
    created_at: str


def _summary(payload: str) -> str:
    try:
        data = json.loads(payload)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    return str(data.get("subject") or data.get("text") or "")[:200]


async def undelivered(ex: Executor, limit: int = 500) -> list[OutboxItem]:
    rows = await fetchall(ex, "SELECT id, tenant_id, kind, recipient, payload, state, attempts, next_attempt_at,"
                              " last_error, created_at FROM outbox WHERE kind IN ('email', 'sms')"
                              " AND state IN ('queued', 'failed') ORDER BY id DESC LIMIT ?", (limit,))
    return [OutboxItem(r["id"], r["tenant_id"], r["kind"], r["recipient"], _summary(r["payload"]), r["state"],
                       r["attempts"], r["next_attempt_at"], r["last_error"], r["created_at"]) for r in rows]
