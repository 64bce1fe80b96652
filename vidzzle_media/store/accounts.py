"""Users (accounts) of the back office: support, admin and user rows.

Every function that reads or changes a tenant's user takes the tenant id
(``None`` = no tenant restriction, only for support callers) so a foreign id
simply matches no row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..errors import Conflict
from ..i18n import gettext
from ._rows import Connection, Executor, Row, fetchall, fetchcount, fetchone, inserted_id, maybe, unique_violation

_ANY = object()

_COLUMNS = ("id, tenant_id, role, name, email, mobile, password_hash, locked, notify_email, notify_sms, created_at,"
            " language")


@dataclass(frozen=True)
class UserRecord:
    """One row of ``users``."""

    id: int
    tenant_id: int | None
    """None only for support accounts."""
    role: str
    """support, admin or user"""
    name: str
    email: str
    mobile: str
    password_hash: str | None
    """Argon2id PHC string; None until the owner set a password."""
    locked: bool
    """Denies NEW logins; running sessions continue."""
    notify_email: bool
    notify_sms: bool
    created_at: str
    language: str = ""
    """The back-office language the user chose ("" = the tenant's)."""


def _user(row: Row) -> UserRecord:
    return UserRecord(row["id"], row["tenant_id"], row["role"], row["name"], row["email"], row["mobile"],
                      row["password_hash"], bool(row["locked"]), bool(row["notify_email"]),
                      bool(row["notify_sms"]), row["created_at"], row["language"])


def _scope(tenant_id: object) -> tuple[str, tuple[object, ...]]:
    """SQL condition for the tenant scope; ``_ANY`` lifts it (support)."""
    if tenant_id is _ANY:
        return "1 = 1", ()
    return "tenant_id = ?", (tenant_id,)


async def get_user(ex: Executor, user_id: int, *, tenant_id: object = _ANY) -> UserRecord | None:
    cond, params = _scope(tenant_id)
    return maybe(_user, await fetchone(ex, f"SELECT {_COLUMNS} FROM users WHERE id = ? AND {cond}", (user_id, *params)))


async def reread_user(ex: Executor, user_id: int) -> UserRecord:
    """A user known to exist (the caller just created or changed it)."""
    user = await get_user(ex, user_id)
    if user is None:
        raise LookupError(f"user {user_id} vanished")
    return user


async def get_user_by_email(ex: Executor, email: str) -> UserRecord | None:
    return maybe(_user, await fetchone(ex, f"SELECT {_COLUMNS} FROM users WHERE lower(email) = lower(?)", (email.strip(),)))


async def list_users(ex: Executor, *, tenant_id: object = _ANY) -> list[UserRecord]:
    cond, params = _scope(tenant_id)
    rows = await fetchall(ex, f"SELECT {_COLUMNS} FROM users WHERE {cond} ORDER BY lower(name), id", params)
    return [_user(r) for r in rows]


async def count_users(ex: Executor, role: str | None = None, *, with_password: bool = False) -> int:
    """Users (of one role); ``with_password``: only those who can log in (a set-password link was used)."""
    where = ["1 = 1"]
    params: list[object] = []
    if role is not None:
        where.append("role = ?")
        params.append(role)
    if with_password:
        where.append("password_hash IS NOT NULL")
    return await fetchcount(ex, f"SELECT COUNT(*) FROM users WHERE {' AND '.join(where)}", params)


def _email_taken() -> Conflict:
    """The unique index on users.email refused a row (told to the form in the reader's language)."""
    message = gettext("This email address is already in use.")
    return Conflict(message, fields={"email": message})


async def insert_user(conn: Connection, *, tenant_id: int | None, role: str, name: str, email: str,
                      mobile: str, now: str, locked: bool = True, notify_email: bool = True,
                      notify_sms: bool = False) -> int:
    """Insert a (locked) user; Conflict when the email is taken."""
    try:
        cursor = await conn.execute(
            "INSERT INTO users(tenant_id, role, name, email, mobile, locked, notify_email, notify_sms, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (tenant_id, role, name, email, mobile, int(locked), int(notify_email), int(notify_sms), now))
    except Exception as exc:
        if unique_violation(exc):
            raise _email_taken() from None
        raise
    return inserted_id(cursor)


async def update_user(conn: Connection, user_id: int, *, tenant_id: object = _ANY, name: str, email: str,
                      mobile: str, role: str, locked: bool, notify_email: bool, notify_sms: bool) -> bool:
    """Update the editable fields (never the tenant); False when no such row in scope."""
    cond, params = _scope(tenant_id)
    try:
        cursor = await conn.execute(
            f"UPDATE users SET name = ?, email = ?, mobile = ?, role = ?, locked = ?, notify_email = ?, notify_sms = ?"
            f" WHERE id = ? AND {cond}",
            (name, email, mobile, role, int(locked), int(notify_email), int(notify_sms), user_id, *params))
    except Exception as exc:
        if unique_violation(exc):
            raise _email_taken() from None
        raise
    return cursor.rowcount == 1


async def set_password_hash(conn: Connection, user_id: int, password_hash: str, *, unlock: bool) -> None:
    if unlock:
        await conn.execute("UPDATE users SET password_hash = ?, locked = 0 WHERE id = ?", (password_hash, user_id))
    else:
        await conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))


async def delete_user(conn: Connection, user_id: int, *, tenant_id: object = _ANY, phone: str = "") -> bool:
    """Delete a user with their personal data (the manual: "inklusive aller
    seiner Statistiken"). Rows of other aggregates that only belong to the user
    go via ON DELETE CASCADE; rows the tenant keeps counting (calls, events,
    SMS sent, deliveries) stay but no longer name the person: name, email and
    mobile number are blanked, mail and SMS still queued for them are dropped.
    ``phone`` is the mobile number as the outbox stores it (normalized)."""
    cond, params = _scope(tenant_id)
    row = await fetchone(conn, f"SELECT email FROM users WHERE id = ? AND {cond}", (user_id, *params))
    if row is None:
        return False
    email, mobile = row["email"], phone
    await conn.execute("UPDATE calls SET agent_name = '', agent_email = '' WHERE agent_id = ?", (user_id,))
    # events name the agent (CallAccepted; LIKE only narrows, the JSON decides)
    for row in await fetchall(conn, "SELECT id, payload FROM call_events WHERE type IN ('CallAccepted', 'CallDeclined')"
                                    " AND payload LIKE ? ESCAPE '!'", (f'%"user_id": {int(user_id)}%',)):
        payload = _json_object(row["payload"])
        if payload.get("user_id") == user_id and "user_name" in payload:
            payload["user_name"] = ""
            await conn.execute("UPDATE call_events SET payload = ? WHERE id = ?",
                               (json.dumps(payload, sort_keys=True), row["id"]))   # as events.payload_json
    addressed = "((kind = 'email' AND lower(recipient) = lower(?)) OR (kind = 'sms' AND recipient = ? AND ? != ''))"
    who = (email, mobile, mobile)
    await conn.execute(f"DELETE FROM outbox WHERE state = 'queued' AND {addressed}", who)
    await conn.execute(f"UPDATE outbox SET recipient = '', payload = '{{}}', last_error = '' WHERE {addressed}", who)
    # webhook bodies (JSON text inside the item's JSON) name the agent too
    for row in await fetchall(conn, "SELECT id, payload FROM outbox WHERE kind = 'webhook' AND payload LIKE ? ESCAPE '!'",
                              (f'%\\"userid\\":{int(user_id)}%',)):
        payload = _json_object(row["payload"])
        body = _json_object(payload.get("body"))
        if body.get("userid") == user_id:
            body["username"] = ""
            payload["body"] = json.dumps(body, ensure_ascii=False, separators=(",", ":"))   # as queued
            await conn.execute("UPDATE outbox SET payload = ? WHERE id = ?",
                               (json.dumps(payload, ensure_ascii=False), row["id"]))
    if mobile:
        await conn.execute("UPDATE sms_log SET recipient = '' WHERE recipient = ?", (mobile,))
    await conn.execute("DELETE FROM login_failures WHERE key = ?", (f"account:{email.strip().lower()}",))
    await conn.execute("DELETE FROM users WHERE id = ?", (user_id,))
    return True


ANY_TENANT = _ANY


def _json_object(text: object) -> dict[str, Any]:
    """A stored JSON object ({} for anything else): edited here, not in SQL,
    because the JSON functions of SQLite and PostgreSQL differ."""
    if not isinstance(text, str):
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


async def set_last_seen(conn: Connection, user_id: int, at: str | None) -> None:
    """Record a back-office request of the user (``None``: logged out)."""
    await conn.execute("UPDATE users SET last_seen_at = ? WHERE id = ?", (at, user_id))


async def seen_since(ex: Executor, since: str, *, tenant_id: object = _ANY) -> set[int]:
    """Users in scope whose last back-office request is at or after ``since``."""
    cond, params = _scope(tenant_id)
    rows = await fetchall(ex, f"SELECT id FROM users WHERE last_seen_at >= ? AND {cond}", (since, *params))
    return {r[0] for r in rows}


async def set_language(conn: Connection, user_id: int, language: str) -> None:
    await conn.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))
