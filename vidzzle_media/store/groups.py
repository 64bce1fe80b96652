"""Call groups and their members (SQL only; rules live in services/groups.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._rows import Connection, inserted_id
from .database import Database, utcnow


@dataclass
class GroupRow:
    """A call group as stored."""

    id: int
    tenant_id: int
    name: str
    description: str
    member_ids: list[int] = field(default_factory=list)
    """Ids of the member users, ordered by id."""
    has_picture: bool = False
    """A picture is stored (``picture``); read by ``get_group`` only."""


@dataclass
class MemberRow:
    """A user as routing needs it (who to ring and how to notify)."""

    id: int
    name: str
    email: str
    mobile: str
    notify_email: bool
    notify_sms: bool
    group_id: int = 0
    language: str = ""
    """The user's own language ("" = the tenant's): their mails and SMS come in it."""


async def _members(db: Database, tenant_id: int, group_ids: list[int]) -> dict[int, list[int]]:
    result: dict[int, list[int]] = {gid: [] for gid in group_ids}
    if not group_ids:
        return result
    marks = ",".join("?" * len(group_ids))
    rows = await db.fetchall(
        f"SELECT group_id, user_id FROM call_group_members WHERE tenant_id = ? AND group_id IN ({marks}) ORDER BY user_id",
        (tenant_id, *group_ids),
    )
    for row in rows:
        result[row["group_id"]].append(row["user_id"])
    return result


async def list_groups(db: Database, tenant_id: int) -> list[GroupRow]:
    rows = await db.fetchall(
        "SELECT id, tenant_id, name, description FROM call_groups WHERE tenant_id = ? ORDER BY lower(name), id",
        (tenant_id,),
    )
    members = await _members(db, tenant_id, [r["id"] for r in rows])
    return [GroupRow(r["id"], r["tenant_id"], r["name"], r["description"], members[r["id"]]) for r in rows]


async def get_group(db: Database, tenant_id: int, group_id: int) -> GroupRow | None:
    row = await db.fetchone(
        "SELECT id, tenant_id, name, description, picture IS NOT NULL AS has_picture FROM call_groups"
        " WHERE tenant_id = ? AND id = ?", (tenant_id, group_id)
    )
    if row is None:
        return None
    members = await _members(db, tenant_id, [group_id])
    return GroupRow(row["id"], row["tenant_id"], row["name"], row["description"], members[group_id],
                    bool(row["has_picture"]))


async def tenant_user_ids(db: Database, tenant_id: int, user_ids: list[int]) -> set[int]:
    """Which of ``user_ids`` are (non-support) users of the tenant."""
    if not user_ids:
        return set()
    marks = ",".join("?" * len(user_ids))
    rows = await db.fetchall(f"SELECT id FROM users WHERE tenant_id = ? AND id IN ({marks})", (tenant_id, *user_ids))
    return {r["id"] for r in rows}


async def tenant_users(db: Database, tenant_id: int) -> list[tuple[int, str, str]]:
    """(id, name, email) of every user of the tenant, for the member picker."""
    rows = await db.fetchall("SELECT id, name, email FROM users WHERE tenant_id = ? ORDER BY lower(name)", (tenant_id,))
    return [(r["id"], r["name"], r["email"]) for r in rows]


async def _set_members(conn: Connection, tenant_id: int, group_id: int, member_ids: list[int]) -> None:
    await conn.execute("DELETE FROM call_group_members WHERE group_id = ? AND tenant_id = ?", (group_id, tenant_id))
    await conn.executemany(
        "INSERT INTO call_group_members(group_id, user_id, tenant_id) VALUES (?, ?, ?)",
        [(group_id, uid, tenant_id) for uid in sorted(set(member_ids))],
    )


async def create_group(conn: Connection, tenant_id: int, name: str, description: str, member_ids: list[int]) -> int:
    cursor = await conn.execute(
        "INSERT INTO call_groups(tenant_id, name, description, created_at) VALUES (?, ?, ?, ?)",
        (tenant_id, name, description, utcnow()),
    )
    group_id = inserted_id(cursor)
    await _set_members(conn, tenant_id, group_id, member_ids)
    return group_id


async def update_group(conn: Connection, tenant_id: int, group_id: int, name: str, description: str, member_ids: list[int]) -> bool:
    cursor = await conn.execute(
        "UPDATE call_groups SET name = ?, description = ? WHERE tenant_id = ? AND id = ?",
        (name, description, tenant_id, group_id),
    )
    if cursor.rowcount != 1:
        return False
    await _set_members(conn, tenant_id, group_id, member_ids)
    return True


async def flows_using(db: Database, tenant_id: int, group_id: int) -> list[str]:
    """Names of the flows with a row ringing this group."""
    rows = await db.fetchall(
        "SELECT DISTINCT f.name FROM call_flow_rows r JOIN call_flows f ON f.id = r.flow_id"
        " WHERE f.tenant_id = ? AND r.group_id = ? ORDER BY f.name",
        (tenant_id, group_id),
    )
    return [r[0] for r in rows]


async def delete_group(conn: Connection, tenant_id: int, group_id: int) -> bool:
    cursor = await conn.execute("DELETE FROM call_groups WHERE tenant_id = ? AND id = ?", (tenant_id, group_id))
    return cursor.rowcount == 1


async def members_of(db: Database, tenant_id: int, group_ids: list[int]) -> list[MemberRow]:
    """Members of the groups who can log in (a user in two groups appears once,
    with the first group); locked accounts are not rung."""
    if not group_ids:
        return []
    marks = ",".join("?" * len(group_ids))
    rows = await db.fetchall(
        "SELECT u.id, u.name, u.email, u.mobile, u.notify_email, u.notify_sms, m.group_id, u.language"
        " FROM call_group_members m JOIN users u ON u.id = m.user_id"
        f" WHERE m.tenant_id = ? AND u.tenant_id = ? AND u.locked = 0 AND m.group_id IN ({marks}) ORDER BY u.id",
        (tenant_id, tenant_id, *group_ids),
    )
    order = {gid: i for i, gid in enumerate(group_ids)}
    seen: dict[int, MemberRow] = {}
    for r in sorted(rows, key=lambda r: (order[r["group_id"]], r["id"])):
        if r["id"] not in seen:
            seen[r["id"]] = MemberRow(r["id"], r["name"], r["email"], r["mobile"], bool(r["notify_email"]),
                                      bool(r["notify_sms"]), r["group_id"], r["language"])
    return list(seen.values())


async def picture(db: Database, tenant_id: int, group_id: int) -> bytes | None:
    """The group's picture (PNG), if it has one."""
    value = await db.fetchval("SELECT picture FROM call_groups WHERE tenant_id = ? AND id = ?", (tenant_id, group_id))
    return bytes(value) if value is not None else None


async def set_picture(conn: Connection, tenant_id: int, group_id: int, png: bytes | None) -> bool:
    """Store (or with None remove) the group's picture; False for a group not of the tenant."""
    cursor = await conn.execute("UPDATE call_groups SET picture = ? WHERE tenant_id = ? AND id = ?",
                                (png, tenant_id, group_id))
    return cursor.rowcount == 1
