"""Seeding call records through the real store (shared by tests and bench)."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from vidzzle_media.store import calls as call_store
from vidzzle_media.store.calls import CallRow


def iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def call_row(tenant_id: int, created: datetime, *, state: str = "ended", direction: str = "incoming",
             duration: float | None = None, flow_id: int | None = None, agent_id: int | None = None,
             miss_reason: str = "", agent_name: str = "") -> CallRow:
    accepted = state in ("accepted", "ended")
    return CallRow(id=str(uuid.uuid4()), tenant_id=tenant_id, flow_id=flow_id, direction=direction, state=state,
                   miss_reason=miss_reason, customer_name="Customer", customer_key_hash="", room_id="",
                   agent_id=agent_id if accepted else None, agent_name=agent_name if accepted else "",
                   agent_email="", base_url="", exit_url="", escalation_url="", created_at=iso(created),
                   accepted_at=iso(created) if accepted else None,
                   ended_at=iso(created) if state != "ringing" else None,
                   duration_s=duration if state == "ended" else None)


async def insert(db, rows: list[CallRow]) -> None:
    async with db.transaction() as conn:
        for row in rows:
            await call_store.insert_call(conn, row)
