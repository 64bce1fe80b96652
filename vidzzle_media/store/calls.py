"""Call records, their rings and events (SQL only; the lifecycle is services/calls.py).

State changes are compare-and-set UPDATEs (``WHERE state = ...``) whose row
count says whether this caller won: that is how "first accept wins" stays
correct however many accepts race.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..events import CallEvent
from ..values import CallState
from ._rows import Connection, Executor, Row, fetchall, fetchone, inserted_id, maybe
from .database import Database


@dataclass
class CallRow:
    """One call record."""

    id: str
    tenant_id: int
    flow_id: int | None
    direction: str
    state: str
    miss_reason: str
    customer_name: str
    customer_key_hash: str
    room_id: str
    agent_id: int | None
    agent_name: str
    agent_email: str
    base_url: str
    exit_url: str
    escalation_url: str
    created_at: str
    accepted_at: str | None
    ended_at: str | None
    duration_s: float | None


_COLUMNS = ", ".join(CallRow.__dataclass_fields__)


def _call(row: Row) -> CallRow:
    return CallRow(**{k: row[k] for k in CallRow.__dataclass_fields__})


async def insert_call(conn: Connection, call: CallRow) -> None:
    values = [getattr(call, k) for k in CallRow.__dataclass_fields__]
    await conn.execute(f"INSERT INTO calls({_COLUMNS}) VALUES ({','.join('?' * len(values))})", values)


async def get_call(db: Database, call_id: str) -> CallRow | None:
    """By id alone: for the public API (the caller proves the customer key) and timers."""
    return maybe(_call, await db.fetchone(f"SELECT {_COLUMNS} FROM calls WHERE id = ?", (call_id,)))


async def get_tenant_call(db: Database, tenant_id: int, call_id: str) -> CallRow | None:
    return maybe(_call, await db.fetchone(f"SELECT {_COLUMNS} FROM calls WHERE tenant_id = ? AND id = ?", (tenant_id, call_id)))


async def list_calls(db: Database, tenant_id: int, limit: int = 100) -> list[CallRow]:
    rows = await db.fetchall(
        f"SELECT {_COLUMNS} FROM calls WHERE tenant_id = ? ORDER BY created_at DESC LIMIT ?", (tenant_id, limit)
    )
    return [_call(r) for r in rows]


async def accept(conn: Connection, call_id: str, user_id: int, name: str, email: str, at: str) -> bool:
    """The atomic compare-and-set: True only for the one caller that moved ringing -> accepted."""
    cursor = await conn.execute(
        "UPDATE calls SET state = 'accepted', agent_id = ?, agent_name = ?, agent_email = ?, accepted_at = ?"
        " WHERE id = ? AND state = 'ringing'",
        (user_id, name, email, at, call_id),
    )
    return cursor.rowcount == 1


async def finish_ringing(conn: Connection, call_id: str, state: str, at: str, miss_reason: str = "") -> bool:
    """ringing -> missed / abandoned, only if still ringing."""
    assert state in (CallState.MISSED, CallState.ABANDONED)
    cursor = await conn.execute(
        "UPDATE calls SET state = ?, miss_reason = ?, ended_at = ? WHERE id = ? AND state = 'ringing'",
        (state, miss_reason, at, call_id),
    )
    return cursor.rowcount == 1


async def end(conn: Connection, call_id: str, at: str, duration_s: float) -> bool:
    """accepted -> ended, only once."""
    cursor = await conn.execute(
        "UPDATE calls SET state = 'ended', ended_at = ?, duration_s = ? WHERE id = ? AND state = 'accepted'",
        (at, duration_s, call_id),
    )
    return cursor.rowcount == 1


async def add_event(conn: Connection, event: CallEvent) -> int:
    cursor = await conn.execute(
        "INSERT INTO call_events(call_id, tenant_id, type, payload, at) VALUES (?, ?, ?, ?, ?)",
        (event.call_id, event.tenant_id, event.type, event.payload_json(), event.at),
    )
    return inserted_id(cursor)


async def list_events(db: Database, tenant_id: int, call_id: str) -> list[tuple[str, str, str]]:
    """(type, payload JSON, at) in order."""
    rows = await db.fetchall(
        "SELECT type, payload, at FROM call_events WHERE tenant_id = ? AND call_id = ? ORDER BY id", (tenant_id, call_id)
    )
    return [(r["type"], r["payload"], r["at"]) for r in rows]


async def add_ring(conn: Connection, call_id: str, tenant_id: int, user_id: int, group_id: int, row_index: int, online: bool,
                   at: str) -> bool:
    """Record that a user was rung; False when they were rung already by an earlier row."""
    cursor = await conn.execute(
        "INSERT INTO call_rings(call_id, user_id, tenant_id, group_id, row_index, online, rung_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (call_id, user_id, tenant_id, group_id, row_index, int(online), at),
    )
    return cursor.rowcount == 1


async def mark_ring_online(conn: Connection, call_id: str, user_id: int) -> None:
    await conn.execute("UPDATE call_rings SET online = 1 WHERE call_id = ? AND user_id = ?", (call_id, user_id))


@dataclass(frozen=True)
class Ring:
    """One agent rung for a call."""

    online: bool
    """The ring reached the agent's browser (online then, or came online while it rang)."""
    notified: bool
    """A mail or SMS with the call's link went out to the agent."""
    declined: bool
    """The agent pressed "Decline"."""

    @property
    def can_answer(self) -> bool:
        """The agent knows of the call (browser, mail or SMS) and has not declined it."""
        return (self.online or self.notified) and not self.declined


async def rings(ex: Executor, call_id: str) -> dict[int, Ring]:
    """user id -> how the call rang them."""
    rows = await fetchall(ex, "SELECT user_id, online, notified, declined_at FROM call_rings WHERE call_id = ?",
                          (call_id,))
    return {r["user_id"]: Ring(bool(r["online"]), bool(r["notified"]), r["declined_at"] is not None) for r in rows}


async def mark_ring_notified(conn: Connection, call_id: str, user_id: int) -> None:
    await conn.execute("UPDATE call_rings SET notified = 1 WHERE call_id = ? AND user_id = ?", (call_id, user_id))


async def decline(conn: Connection, call_id: str, user_id: int, at: str) -> bool:
    """Mark the user's ring declined; False when they were not rung or declined already."""
    cursor = await conn.execute(
        "UPDATE call_rings SET declined_at = ? WHERE call_id = ? AND user_id = ? AND declined_at IS NULL",
        (at, call_id, user_id))
    return cursor.rowcount == 1


async def busy_agents(db: Database, tenant_id: int) -> set[int]:
    """Agents of the tenant in an accepted call right now."""
    rows = await db.fetchall(
        "SELECT DISTINCT agent_id FROM calls WHERE tenant_id = ? AND state = 'accepted' AND agent_id IS NOT NULL",
        (tenant_id,))
    return {r["agent_id"] for r in rows}


async def rung_users(db: Database, call_id: str) -> dict[int, bool]:
    """user id -> was online while rung."""
    rows = await db.fetchall("SELECT user_id, online FROM call_rings WHERE call_id = ?", (call_id,))
    return {r["user_id"]: bool(r["online"]) for r in rows}


async def ringing_for_user(db: Database, tenant_id: int, user_id: int) -> list[CallRow]:
    """Calls ringing right now for this user, unless they declined (pushed again when they come online)."""
    rows = await db.fetchall(
        f"SELECT {', '.join('c.' + k for k in CallRow.__dataclass_fields__)} FROM calls c"
        " JOIN call_rings r ON r.call_id = c.id"
        " WHERE c.tenant_id = ? AND r.user_id = ? AND c.state = 'ringing' AND r.declined_at IS NULL"
        " ORDER BY c.created_at",
        (tenant_id, user_id),
    )
    return [_call(r) for r in rows]


async def open_calls(db: Database) -> list[CallRow]:
    """Calls still ringing or accepted (after a restart nothing of them survives)."""
    rows = await db.fetchall(f"SELECT {_COLUMNS} FROM calls WHERE state IN ('ringing', 'accepted') ORDER BY created_at")
    return [_call(r) for r in rows]


async def get_call_in(conn: Connection, call_id: str) -> CallRow | None:
    """Inside the caller's transaction (sees its own writes)."""
    return maybe(_call, await fetchone(conn, f"SELECT {_COLUMNS} FROM calls WHERE id = ?", (call_id,)))


async def reread_call(ex: Executor, call_id: str) -> CallRow:
    """A call known to exist (the caller just read or changed it; calls are never deleted)."""
    row = await fetchone(ex, f"SELECT {_COLUMNS} FROM calls WHERE id = ?", (call_id,))
    if row is None:
        raise LookupError(f"call {call_id} vanished")
    return _call(row)


async def get_call_by_room(db: Database, room_id: str) -> CallRow | None:
    if not room_id:
        return None
    return maybe(_call, await db.fetchone(f"SELECT {_COLUMNS} FROM calls WHERE room_id = ?", (room_id,)))


async def answer_times(db: Database, flow_id: int, since: str, limit: int) -> list[float]:
    """Seconds from ringing to accept of the flow's latest ``limit`` incoming calls accepted since ``since``."""
    rows = await db.fetchall(
        "SELECT created_at, accepted_at FROM calls WHERE flow_id = ? AND direction = 'incoming'"
        " AND accepted_at IS NOT NULL AND created_at >= ? ORDER BY created_at DESC LIMIT ?", (flow_id, since, limit))
    return [(datetime.fromisoformat(r["accepted_at"]) - datetime.fromisoformat(r["created_at"])).total_seconds()
            for r in rows]


async def queue_place(db: Database, call: CallRow) -> tuple[int, int]:
    """(ringing calls of the same flow that started earlier, all ringing calls of the flow)."""
    row = await db.fetchone(
        "SELECT SUM(CASE WHEN created_at < ? OR (created_at = ? AND id < ?) THEN 1 ELSE 0 END) AS ahead, COUNT(*) AS total FROM calls"
        " WHERE flow_id = ? AND state = 'ringing'", (call.created_at, call.created_at, call.id, call.flow_id))
    return (int(row["ahead"] or 0), int(row["total"] or 0)) if row is not None else (0, 0)


@dataclass(frozen=True)
class WaitingFor:
    dealer: str
    group: str
    picture: bool
    group_id: int | None


async def waiting_for(db: Database, call: CallRow) -> WaitingFor:
    """The tenant's name and the flow's first group (name, whether it has a picture)."""
    row = await db.fetchone(
        "SELECT t.name AS dealer, g.id AS group_id, COALESCE(g.name, '') AS grp, g.picture IS NOT NULL AS pic"
        " FROM tenants t LEFT JOIN call_flow_rows r ON r.flow_id = ? AND r.position = 0"
        " LEFT JOIN call_groups g ON g.id = r.group_id WHERE t.id = ?", (call.flow_id, call.tenant_id))
    if row is None:
        return WaitingFor("", "", False, None)
    return WaitingFor(row["dealer"], row["grp"], bool(row["pic"]), row["group_id"])
