"""Dashboard figures and the filtered calls list (R-DASH), straight from ``calls``.

The bounds are UTC ISO-8601 strings in the same format as the stored
``created_at`` (``utcnow()``), so range conditions compare as text and use
the indexes of migration 0004 (``calls_dashboard`` covers the tiles and
the chart; ``calls_tenant_{state,agent,flow}`` serve the list filters).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from ..values import NOT_ACCEPTED
from .database import Database


@dataclass(frozen=True)
class DayNumbers:
    """Figures of one direction's calls in one local day."""

    calls: int
    """Calls created in the day (every outcome)."""
    video_calls: int
    """Those of them that have a duration (an agent and a customer talked)."""
    avg_duration_s: float
    """Average of those durations; 0 without any."""


@dataclass(frozen=True)
class HourBucket:
    """Incoming calls created in one hour of the chart."""

    index: int
    """0 = the oldest hour of the window."""
    incoming: int
    accepted: int
    not_accepted: int


@dataclass(frozen=True)
class CallFilter:
    """What the calls list shows; empty fields do not filter."""

    tenant_id: int | None
    """None: every tenant's calls (support)."""
    state: str = ""
    """A call state, or ``accepted_any`` (was accepted) / ``not_accepted`` (missed, abandoned, out of hours)."""
    miss_reason: str = ""
    """Why it was not accepted (a ``values.MissReason``)."""
    direction: str = ""
    flow_id: int | None = None
    agent_id: int | None = None
    start: str = ""
    """created_at >= start (UTC ISO)."""
    end: str = ""
    """created_at < end (UTC ISO)."""
    before: tuple[str, str] | None = None
    """Keyset cursor (created_at, id): rows strictly older than this one."""
    with_duration: bool = False
    """Only calls that have a duration (the "average duration" tile)."""
    limit: int = 50


@dataclass(frozen=True)
class CallListRow:
    """One line of the calls list."""

    id: str
    tenant_id: int
    tenant_name: str
    created_at: str
    direction: str
    state: str
    miss_reason: str
    flow_id: int | None
    flow_name: str
    agent_id: int | None
    agent_name: str
    customer_name: str
    accepted_at: str | None
    ended_at: str | None
    duration_s: float | None
    media_problem: str = ""
    """With ``customer_media_failed``: what failed (the CallAbandoned event's media_problem)."""
    interruptions: int = 0
    """How often its media died under it and the call went on (CallInterrupted events)."""


async def day_numbers(db: Database, tenant_id: int, start: str, end: str) -> dict[str, DayNumbers]:
    """``incoming`` and ``outgoing`` figures of the calls created in [start, end)."""
    rows = await db.fetchall(
        "SELECT direction, COUNT(*) AS calls, COUNT(duration_s) AS video, COALESCE(AVG(duration_s), 0) AS avg_d"
        " FROM calls WHERE tenant_id = ? AND created_at >= ? AND created_at < ? GROUP BY direction",
        (tenant_id, start, end))
    found = {r["direction"]: DayNumbers(int(r["calls"]), int(r["video"]), float(r["avg_d"])) for r in rows}
    return {d: found.get(d, DayNumbers(0, 0, 0.0)) for d in ("incoming", "outgoing")}


async def miss_reasons(db: Database, tenant_id: int, start: str, end: str) -> dict[str, int]:
    """Incoming calls created in [start, end) that nobody accepted, by cause."""
    rows = await db.fetchall(
        "SELECT miss_reason, COUNT(*) AS n FROM calls WHERE tenant_id = ? AND created_at >= ? AND created_at < ?"
        " AND direction = 'incoming' AND miss_reason != '' GROUP BY miss_reason", (tenant_id, start, end))
    return {r["miss_reason"]: int(r["n"]) for r in rows}


async def hourly(db: Database, tenant_id: int, start: str, end: str, start_epoch: int) -> list[HourBucket]:
    """Buckets of 3600 s counted from ``start_epoch`` (the window start, a whole
    minute); empty hours are absent. Grouped by text (UTC hour + whether the
    minute is past the window's minute offset, for :30/:45 time zones) so no
    date function runs per row."""
    offset = datetime.fromtimestamp(start_epoch, timezone.utc).minute
    rows = await db.fetchall(
        "SELECT substr(created_at, 1, 13) AS h, substr(created_at, 15, 2) >= ? AS late, COUNT(*) AS incoming,"
        " SUM(CASE WHEN accepted_at IS NOT NULL THEN 1 ELSE 0 END) AS accepted,"
        f" SUM(CASE WHEN state IN ({','.join('?' * len(NOT_ACCEPTED))}) THEN 1 ELSE 0 END) AS not_accepted"
        " FROM calls"
        " WHERE tenant_id = ? AND created_at >= ? AND created_at < ? AND direction = 'incoming' GROUP BY h, late",
        (f"{offset:02d}", *NOT_ACCEPTED, tenant_id, start, end))
    buckets: dict[int, list[int]] = {}
    for r in rows:
        hour = datetime.fromisoformat(r["h"] + ":00:00+00:00")
        at = hour + timedelta(minutes=offset if r["late"] else offset - 60)
        index = int((at.timestamp() - start_epoch) // 3600)
        counts = buckets.setdefault(index, [0, 0, 0])
        counts[0] += int(r["incoming"])
        counts[1] += int(r["accepted"] or 0)
        counts[2] += int(r["not_accepted"] or 0)
    return [HourBucket(i, *c) for i, c in sorted(buckets.items())]


async def list_calls(db: Database, f: CallFilter) -> list[CallListRow]:
    where: list[str] = ["c.tenant_id = ?"] if f.tenant_id is not None else ["1 = 1"]
    params: list[Any] = [f.tenant_id] if f.tenant_id is not None else []
    if f.state == "accepted_any":
        where.append("c.accepted_at IS NOT NULL")
    elif f.state == "not_accepted":
        where.append(f"c.state IN ({','.join('?' * len(NOT_ACCEPTED))})")
        params += NOT_ACCEPTED
    elif f.state:
        where.append("c.state = ?")
        params.append(f.state)
    if f.miss_reason:
        where.append("c.miss_reason = ?")
        params.append(f.miss_reason)
    if f.direction:
        where.append("c.direction = ?")
        params.append(f.direction)
    if f.flow_id is not None:
        where.append("c.flow_id = ?")
        params.append(f.flow_id)
    if f.agent_id is not None:
        where.append("c.agent_id = ?")
        params.append(f.agent_id)
    if f.start:
        where.append("c.created_at >= ?")
        params.append(f.start)
    if f.end:
        where.append("c.created_at < ?")
        params.append(f.end)
    if f.with_duration:
        where.append("c.duration_s IS NOT NULL")
    if f.before:
        where.append("(c.created_at < ? OR (c.created_at = ? AND c.id < ?))")
        params += [f.before[0], f.before[0], f.before[1]]
    rows = await db.fetchall(
        "SELECT c.id, c.tenant_id, COALESCE(t.name, '') AS tenant_name, c.created_at, c.direction, c.state, c.miss_reason, c.flow_id, COALESCE(fl.name, '') AS flow_name,"
        " c.agent_id, c.agent_name, c.customer_name, c.accepted_at, c.ended_at, c.duration_s,"
        " CASE WHEN c.miss_reason = 'customer_media_failed' THEN (SELECT e.payload FROM call_events e"
        " WHERE e.call_id = c.id AND e.type = 'CallAbandoned' ORDER BY e.id LIMIT 1) END AS abandoned,"
        " (SELECT COUNT(*) FROM call_events e WHERE e.call_id = c.id AND e.type = 'CallInterrupted') AS interruptions"
        " FROM calls c LEFT JOIN call_flows fl ON fl.id = c.flow_id AND fl.tenant_id = c.tenant_id"
        " LEFT JOIN tenants t ON t.id = c.tenant_id"
        f" WHERE {' AND '.join(where)} ORDER BY c.created_at DESC, c.id DESC LIMIT ?",
        (*params, f.limit))
    return [CallListRow(**{k: r[k] for k in CallListRow.__dataclass_fields__ if k != "media_problem"},
                        media_problem=_media_problem(r["abandoned"])) for r in rows]


def _media_problem(abandoned_payload: str | None) -> str:
    """What failed in a pre-ring check, from its CallAbandoned event (read here,
    not in SQL: the JSON functions of SQLite and PostgreSQL differ)."""
    if not abandoned_payload:
        return ""
    try:
        problem = json.loads(abandoned_payload).get("media_problem", "")
    except (ValueError, AttributeError):
        return ""
    return problem if isinstance(problem, str) else ""


async def filter_choices(db: Database, tenant_id: int | None) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(flows, agents) of the tenant as (id, name), for the list's filter menus;
    of every tenant (the name followed by the tenant's) when ``tenant_id`` is None."""
    params: tuple[int, ...]
    if tenant_id is not None:
        cond, params, label = "x.tenant_id = ?", (tenant_id,), "x.name"
    else:
        cond, params, label = "x.tenant_id IS NOT NULL", (), "x.name || ' (' || t.name || ')'"
    out = []
    for table in ("call_flows", "users"):
        rows = await db.fetchall(f"SELECT x.id, {label} AS name FROM {table} x JOIN tenants t ON t.id = x.tenant_id"
                                 f" WHERE {cond} ORDER BY lower({label})", params)
        out.append([(r["id"], r["name"]) for r in rows])
    return out[0], out[1]


async def tenant_timezone(db: Database, tenant_id: int | None) -> str | None:
    if tenant_id is None:
        return None
    zone = await db.fetchval("SELECT timezone FROM tenants WHERE id = ?", (tenant_id,))
    return str(zone) if zone is not None else None
