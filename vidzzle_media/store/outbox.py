"""SQL of the transactional outbox: enqueue, claim, confirm, list.

Rows are written by ``enqueue`` on the caller's writer connection, inside the
caller's transaction, so a rolled-back change never leaves a delivery behind.
Delivery is claim -> send -> confirm:

* ``claim_due`` marks due rows with a fresh claim token and pushes
  ``next_attempt_at`` out by a lease, so no second loop picks them up;
* ``confirm`` writes the attempt row and the new state in one transaction,
  but only while the claim token still matches;
* ``release_claims`` (at start) makes the rows still claimed by a killed
  process due at once; the others keep their backoff.

Timestamps are UTC ISO-8601 text with milliseconds (same format as
``database.utcnow()``), so text comparison orders them correctly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from ..values import OutboxKind, OutboxState
from ._rows import Connection, Row, fetchall, fetchcount, fetchone, inserted_id
from .database import Database

KINDS = tuple(OutboxKind)
STATES = tuple(OutboxState)


def iso(moment: datetime) -> str:
    """The stored form of an instant (aware datetimes only)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime; pass an aware UTC instant")
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


@dataclass
class OutboxItem:
    """One queued, sent or failed delivery."""

    id: int
    tenant_id: int | None
    kind: str
    """email, sms or webhook"""
    recipient: str
    """email address, phone number or URL"""
    payload: dict[str, Any]
    """kind-specific JSON (rendered mail, SMS text, webhook body/headers/secret)"""
    state: str
    attempts: int
    next_attempt_at: str
    last_error: str
    created_at: str
    sent_at: str | None
    retry_until: str | None = None
    """give-up deadline after a manual retry; None: created_at + the kind's retry window"""


@dataclass
class AttemptRow:
    """One delivery attempt joined with its outbox row."""

    id: int
    outbox_id: int
    tenant_id: int | None
    kind: str
    recipient: str
    payload: dict[str, Any]
    item_state: str
    at: str
    ok: bool
    status: str
    error: str
    duration_ms: int


def _item(row: Row) -> OutboxItem:
    return OutboxItem(
        id=row["id"], tenant_id=row["tenant_id"], kind=row["kind"], recipient=row["recipient"],
        payload=json.loads(row["payload"]), state=row["state"], attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"], last_error=row["last_error"],
        created_at=row["created_at"], sent_at=row["sent_at"], retry_until=row["retry_until"],
    )


_ITEM_COLUMNS = "id, tenant_id, kind, recipient, payload, state, attempts, next_attempt_at, last_error, created_at, sent_at, retry_until"


async def enqueue(conn: Connection, *, kind: str, tenant_id: int | None, recipient: str, payload: dict[str, Any],
                  now: datetime) -> int:
    """Insert a queued row on the caller's (writer) connection; returns its id."""
    if kind not in KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    stamp = iso(now)
    cursor = await conn.execute(
        "INSERT INTO outbox (tenant_id, kind, recipient, payload, state, attempts, next_attempt_at, created_at)"
        " VALUES (?, ?, ?, ?, 'queued', 0, ?, ?)",
        (tenant_id, kind, recipient, json.dumps(payload, ensure_ascii=False), stamp, stamp),
    )
    return inserted_id(cursor)


async def release_claims(db: Database, now: datetime) -> int:
    """At start, make the rows a previous (killed) process had claimed due
    now; returns how many. Rows waiting out a backoff keep their schedule:
    otherwise every restart (or a crash loop) would be one more attempt at a
    failing target. An operator who fixed the target retries from the outbox
    page ("retry now")."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE outbox SET claim_token = NULL, claimed_at = NULL, next_attempt_at = ?"
            " WHERE state = 'queued' AND claim_token IS NOT NULL",
            (iso(now),),
        )
        return cursor.rowcount


async def claim_due(db: Database, *, kind: str, now: datetime, lease_until: datetime, token: str,
                    limit: int) -> list[OutboxItem]:
    """Claim up to ``limit`` due rows of one kind (oldest due first).

    On PostgreSQL several nodes claim at once: the rows are locked as they
    are read, and rows another node is claiming are skipped (``FOR UPDATE
    SKIP LOCKED``), so each row goes to one node. On SQLite the one writer
    does the same by itself."""
    skip_locked = " FOR UPDATE SKIP LOCKED" if db.dialect == "postgres" else ""
    async with db.transaction() as conn:
        rows = await fetchall(
            conn, f"SELECT {_ITEM_COLUMNS} FROM outbox WHERE kind = ? AND state = 'queued' AND next_attempt_at <= ?"
            f" ORDER BY next_attempt_at, id LIMIT ?{skip_locked}",
            (kind, iso(now), int(limit)),
        )
        items = [_item(row) for row in rows]
        for item in items:
            await conn.execute(
                "UPDATE outbox SET claim_token = ?, claimed_at = ?, next_attempt_at = ? WHERE id = ?",
                (token, iso(now), iso(lease_until), item.id),
            )
        return items


async def confirm(db: Database, *, item_id: int, token: str, now: datetime, ok: bool, status: str,
                  error: str, duration_ms: int, next_attempt_at: datetime | None) -> bool:
    """Record one attempt and its outcome while the claim is still ours.

    ok -> sent; not ok and ``next_attempt_at`` -> queued again at that time;
    not ok and no next attempt -> failed. Returns False if the claim was lost.
    """
    async with db.transaction() as conn:
        if await fetchone(conn, "SELECT id FROM outbox WHERE id = ? AND claim_token = ? AND state = 'queued'",
                          (item_id, token)) is None:
            return False
        await conn.execute(
            "INSERT INTO outbox_attempts (outbox_id, at, ok, status, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?)",
            (item_id, iso(now), int(ok), status, error, int(duration_ms)),
        )
        if ok:
            await conn.execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1, last_error = '',"
                " claim_token = NULL, claimed_at = NULL WHERE id = ?",
                (iso(now), item_id),
            )
        elif next_attempt_at is not None:
            await conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
                " claim_token = NULL, claimed_at = NULL WHERE id = ?",
                (error, iso(next_attempt_at), item_id),
            )
        else:
            await conn.execute(
                "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?,"
                " claim_token = NULL, claimed_at = NULL WHERE id = ?",
                (error, item_id),
            )
        return True


async def requeue(db: Database, *, item_id: int, now: datetime, retry_until: datetime) -> bool:
    """Put a failed (or waiting) row back to queued, due now, with a fresh retry window (support's "retry")."""
    async with db.transaction() as conn:
        cursor = await conn.execute(
            "UPDATE outbox SET state = 'queued', next_attempt_at = ?, retry_until = ?, claim_token = NULL,"
            " claimed_at = NULL WHERE id = ? AND state != 'sent'",
            (iso(now), iso(retry_until), item_id),
        )
        return cursor.rowcount == 1


async def get(db: Database, item_id: int) -> OutboxItem | None:
    row = await db.fetchone(f"SELECT {_ITEM_COLUMNS} FROM outbox WHERE id = ?", (item_id,))
    return None if row is None else _item(row)


async def list_items(db: Database, *, kind: str | None = None, state: str | None = None,
                     tenant_id: int | None = None, limit: int = 200) -> list[OutboxItem]:
    """Newest first; filters are optional (support sees every tenant)."""
    where, params = _filters(kind=kind, state=state, tenant_id=tenant_id)
    rows = await db.fetchall(
        f"SELECT {_ITEM_COLUMNS} FROM outbox{where} ORDER BY created_at DESC, id DESC LIMIT ?",
        (*params, int(limit)),
    )
    return [_item(row) for row in rows]


def _filters(**values: Any) -> tuple[str, list[Any]]:
    clauses, params = [], []
    for column, value in values.items():
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


async def depth(db: Database) -> dict[str, int]:
    """Queued rows per kind (every kind present, 0 when empty)."""
    rows = await db.fetchall("SELECT kind, COUNT(*) FROM outbox WHERE state = 'queued' GROUP BY kind")
    counts: dict[str, int] = {kind: 0 for kind in KINDS}
    counts.update({row[0]: row[1] for row in rows})
    return counts


async def next_due(db: Database, kinds: Iterable[str]) -> str | None:
    """Earliest next_attempt_at of a queued row of these kinds (claimed rows: their lease end)."""
    kinds = list(kinds)
    if not kinds:
        return None
    marks = ", ".join("?" for _ in kinds)
    due = await db.fetchval(
        f"SELECT MIN(next_attempt_at) FROM outbox WHERE state = 'queued' AND kind IN ({marks})", kinds)
    return str(due) if due is not None else None


async def list_attempts(db: Database, *, kind: str, tenant_id: int | None, limit: int = 200,
                        outbox_id: int | None = None) -> list[AttemptRow]:
    """Attempts of one kind for one tenant, newest first."""
    sql = (
        "SELECT a.id, a.outbox_id, o.tenant_id, o.kind, o.recipient, o.payload, o.state, a.at, a.ok,"
        " a.status, a.error, a.duration_ms FROM outbox_attempts a JOIN outbox o ON o.id = a.outbox_id"
        " WHERE o.kind = ? AND o.tenant_id = ?"
    )
    params: list[Any] = [kind, tenant_id]
    if outbox_id is not None:
        sql += " AND a.outbox_id = ?"
        params.append(outbox_id)
    rows = await db.fetchall(sql + " ORDER BY a.at DESC, a.id DESC LIMIT ?", (*params, int(limit)))
    return [
        AttemptRow(
            id=r["id"], outbox_id=r["outbox_id"], tenant_id=r["tenant_id"], kind=r["kind"],
            recipient=r["recipient"], payload=json.loads(r["payload"]), item_state=r["state"], at=r["at"],
            ok=bool(r["ok"]), status=r["status"], error=r["error"], duration_ms=r["duration_ms"],
        )
        for r in rows
    ]


async def count_attempts(db: Database, item_id: int) -> int:
    return await fetchcount(db, "SELECT COUNT(*) FROM outbox_attempts WHERE outbox_id = ?", (item_id,))


async def latest_to(db: Database, kind: str, recipients: Iterable[str]) -> dict[str, OutboxItem]:
    """The newest item of ``kind`` for each of ``recipients`` that has one."""
    wanted = sorted(set(recipients))
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    rows = await db.fetchall(
        f"SELECT {_ITEM_COLUMNS} FROM outbox WHERE id IN (SELECT MAX(id) FROM outbox"
        f" WHERE kind = ? AND recipient IN ({marks}) GROUP BY recipient)", (kind, *wanted))
    return {row["recipient"]: _item(row) for row in rows}
