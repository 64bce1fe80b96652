"""Callback requests (SQL only; the rules are services/calls/callbacks.py).

Claiming and finishing are compare-and-set UPDATEs like a call's accept:
two agents pressing "Claim" at once, one wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._rows import Connection, Executor, Row, fetchall, fetchcount, fetchone, inserted_id, maybe


@dataclass
class CallbackRow:
    id: int
    tenant_id: int
    flow_id: int | None
    call_id: str | None
    name: str
    phone: str
    email: str
    preferred: str
    state: str
    """open, claimed or done."""
    claimed_by: int | None
    claimed_by_name: str
    created_at: str
    claimed_at: str | None
    done_at: str | None
    followup_call_id: str | None
    flow_name: str = ""


_COLUMNS = ", ".join(f"c.{k}" for k in CallbackRow.__dataclass_fields__ if k != "flow_name")


def _row(r: Row) -> CallbackRow:
    return CallbackRow(**{k: r[k] for k in CallbackRow.__dataclass_fields__})


_SELECT = (f"SELECT {_COLUMNS}, COALESCE(f.name, '') AS flow_name FROM callbacks c"
           " LEFT JOIN call_flows f ON f.id = c.flow_id")


async def insert(conn: Connection, *, tenant_id: int, flow_id: int | None, call_id: str | None, name: str,
                 phone: str, email: str, preferred: str, at: str) -> int:
    cursor = await conn.execute(
        "INSERT INTO callbacks(tenant_id, flow_id, call_id, name, phone, email, preferred, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (tenant_id, flow_id, call_id, name, phone, email, preferred, at))
    return inserted_id(cursor)


async def get(ex: Executor, tenant_id: int, callback_id: int) -> CallbackRow | None:
    return maybe(_row, await fetchone(ex, f"{_SELECT} WHERE c.tenant_id = ? AND c.id = ?", (tenant_id, callback_id)))


async def for_call(ex: Executor, call_id: str) -> CallbackRow | None:
    return maybe(_row, await fetchone(ex, f"{_SELECT} WHERE c.call_id = ?", (call_id,)))


async def list_for(ex: Executor, tenant_id: int, states: tuple[str, ...], limit: int = 200) -> list[CallbackRow]:
    """Open and claimed ones oldest first (who waits longest comes first); done ones newest first."""
    marks = ",".join("?" * len(states))
    order = "c.created_at DESC" if states == ("done",) else "c.created_at"
    return [_row(r) for r in await fetchall(
        ex, f"{_SELECT} WHERE c.tenant_id = ? AND c.state IN ({marks}) ORDER BY {order} LIMIT ?",
        (tenant_id, *states, limit))]


async def count_open(ex: Executor, tenant_id: int) -> int:
    return await fetchcount(ex, "SELECT COUNT(*) FROM callbacks WHERE tenant_id = ? AND state != 'done'", (tenant_id,))


async def claim(conn: Connection, tenant_id: int, callback_id: int, user_id: int, name: str, at: str) -> bool:
    """open -> claimed by this user; True only for the one caller that won."""
    cursor = await conn.execute(
        "UPDATE callbacks SET state = 'claimed', claimed_by = ?, claimed_by_name = ?, claimed_at = ?"
        " WHERE tenant_id = ? AND id = ? AND state = 'open'", (user_id, name, at, tenant_id, callback_id))
    return cursor.rowcount == 1


async def finish(conn: Connection, tenant_id: int, callback_id: int, at: str,
                 followup_call_id: str | None = None) -> bool:
    """open/claimed -> done (with the follow-up call it led to, if any)."""
    cursor = await conn.execute(
        "UPDATE callbacks SET state = 'done', done_at = ?, followup_call_id = COALESCE(?, followup_call_id)"
        " WHERE tenant_id = ? AND id = ? AND state != 'done'", (at, followup_call_id, tenant_id, callback_id))
    return cursor.rowcount == 1
