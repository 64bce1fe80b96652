"""Call flows and their routing rows (SQL only; rules live in services/flows.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ._rows import Connection, Row, inserted_id
from .database import Database, utcnow


@dataclass
class FlowRow:
    """A call flow as stored."""

    id: int
    tenant_id: int
    name: str
    description: str
    embed_id: str
    hours: list[list[str]]
    """Seven [start, end] "HH:MM" pairs, Monday first."""
    exit_url: str
    out_of_hours_url: str
    escalation_url: str
    rows: list[tuple[int, int]] = field(default_factory=list)
    """(group_id, ring_seconds) in ringing order."""
    timezone: str = "UTC"
    """The tenant's time zone (joined in, for business hours)."""
    ring_busy_agents: bool = False
    """Ring agents who are in a call already (default: skip them)."""
    holiday_region: str = ""
    """Public holidays of this region are closed days ("DE-BY"; "" for none)."""
    exceptions: list[list[Any]] = field(default_factory=list)
    """One-off days: [["YYYY-MM-DD", None | ["HH:MM", "HH:MM"]], ...] (None: closed all day)."""
    offer_callback: bool = False
    """A customer who cannot be served is offered "We'll call you back" before the redirect."""


_COLUMNS = ("f.id, f.tenant_id, f.name, f.description, f.embed_id, f.hours, f.exit_url, f.out_of_hours_url,"
            " f.escalation_url, t.timezone, f.ring_busy_agents, f.holiday_region, f.exceptions,"
            " f.offer_callback")


async def _rows(db: Database, flow_ids: list[int]) -> dict[int, list[tuple[int, int]]]:
    result: dict[int, list[tuple[int, int]]] = {fid: [] for fid in flow_ids}
    if not flow_ids:
        return result
    marks = ",".join("?" * len(flow_ids))
    for r in await db.fetchall(
        f"SELECT flow_id, group_id, ring_seconds FROM call_flow_rows WHERE flow_id IN ({marks}) ORDER BY flow_id, position",
        flow_ids,
    ):
        result[r["flow_id"]].append((r["group_id"], r["ring_seconds"]))
    return result


def _flow(r: Row, rows: list[tuple[int, int]]) -> FlowRow:
    return FlowRow(r["id"], r["tenant_id"], r["name"], r["description"], r["embed_id"], json.loads(r["hours"]),
                   r["exit_url"], r["out_of_hours_url"], r["escalation_url"], rows, r["timezone"],
                   bool(r["ring_busy_agents"]), r["holiday_region"], json.loads(r["exceptions"]),
                   bool(r["offer_callback"]))


async def list_flows(db: Database, tenant_id: int) -> list[FlowRow]:
    found = await db.fetchall(
        f"SELECT {_COLUMNS} FROM call_flows f JOIN tenants t ON t.id = f.tenant_id"
        " WHERE f.tenant_id = ? ORDER BY lower(f.name), f.id",
        (tenant_id,),
    )
    rows = await _rows(db, [r["id"] for r in found])
    return [_flow(r, rows[r["id"]]) for r in found]


async def get_flow(db: Database, tenant_id: int, flow_id: int) -> FlowRow | None:
    r = await db.fetchone(
        f"SELECT {_COLUMNS} FROM call_flows f JOIN tenants t ON t.id = f.tenant_id WHERE f.tenant_id = ? AND f.id = ?",
        (tenant_id, flow_id),
    )
    return None if r is None else _flow(r, (await _rows(db, [flow_id]))[flow_id])


async def get_by_embed_id(db: Database, embed_id: str) -> FlowRow | None:
    """The public entry point: the embed id alone identifies flow and tenant."""
    r = await db.fetchone(
        f"SELECT {_COLUMNS} FROM call_flows f JOIN tenants t ON t.id = f.tenant_id WHERE f.embed_id = ?", (embed_id,)
    )
    return None if r is None else _flow(r, (await _rows(db, [r["id"]]))[r["id"]])


async def _set_rows(conn: Connection, flow_id: int, rows: list[tuple[int, int]]) -> None:
    await conn.execute("DELETE FROM call_flow_rows WHERE flow_id = ?", (flow_id,))
    await conn.executemany(
        "INSERT INTO call_flow_rows(flow_id, position, group_id, ring_seconds) VALUES (?, ?, ?, ?)",
        [(flow_id, i, gid, secs) for i, (gid, secs) in enumerate(rows)],
    )


async def create_flow(conn: Connection, tenant_id: int, *, name: str, description: str, embed_id: str, hours: list[list[str]],
                      rows: list[tuple[int, int]], exit_url: str, out_of_hours_url: str, escalation_url: str,
                      ring_busy_agents: bool = False, holiday_region: str = "", exceptions: list[list[Any]] | None = None,
                      offer_callback: bool = False) -> int:
    now = utcnow()
    cursor = await conn.execute(
        "INSERT INTO call_flows(tenant_id, name, description, embed_id, hours, exit_url, out_of_hours_url,"
        " escalation_url, ring_busy_agents, holiday_region, exceptions, offer_callback, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (tenant_id, name, description, embed_id, json.dumps(hours), exit_url, out_of_hours_url, escalation_url,
         int(ring_busy_agents), holiday_region, json.dumps(exceptions or []), int(offer_callback), now, now),
    )
    flow_id = inserted_id(cursor)
    await _set_rows(conn, flow_id, rows)
    return flow_id


async def update_flow(conn: Connection, tenant_id: int, flow_id: int, *, name: str, description: str, hours: list[list[str]],
                      rows: list[tuple[int, int]], exit_url: str, out_of_hours_url: str, escalation_url: str,
                      ring_busy_agents: bool = False, holiday_region: str = "", exceptions: list[list[Any]] | None = None,
                      offer_callback: bool = False) -> bool:
    cursor = await conn.execute(
        "UPDATE call_flows SET name = ?, description = ?, hours = ?, exit_url = ?, out_of_hours_url = ?,"
        " escalation_url = ?, ring_busy_agents = ?, holiday_region = ?, exceptions = ?, offer_callback = ?,"
        " updated_at = ? WHERE tenant_id = ? AND id = ?",
        (name, description, json.dumps(hours), exit_url, out_of_hours_url, escalation_url, int(ring_busy_agents),
         holiday_region, json.dumps(exceptions or []), int(offer_callback), utcnow(), tenant_id, flow_id),
    )
    if cursor.rowcount != 1:
        return False
    await _set_rows(conn, flow_id, rows)
    return True


async def delete_flow(conn: Connection, tenant_id: int, flow_id: int) -> bool:
    """Deleting the row invalidates its embed id for good (ids are never reused)."""
    cursor = await conn.execute("DELETE FROM call_flows WHERE tenant_id = ? AND id = ?", (tenant_id, flow_id))
    return cursor.rowcount == 1
