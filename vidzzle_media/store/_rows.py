"""Tiny helpers so store functions work on the Database (reads) or on a
transaction's writer connection (reads inside a write)."""

from __future__ import annotations

from typing import Any, Callable, Iterable, TypeVar

import aiosqlite

from .database import Database

Executor = Database | aiosqlite.Connection
T = TypeVar("T")


def maybe(mapper: Callable[[aiosqlite.Row], T], row: aiosqlite.Row | None) -> T | None:
    """``mapper(row)``, or None when the query found no row."""
    return None if row is None else mapper(row)


async def fetchone(ex: Executor, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
    if isinstance(ex, Database):
        return await ex.fetchone(sql, params)
    rows = await ex.execute_fetchall(sql, tuple(params))  # no cursor left open: see Database.fetchall
    return next(iter(rows), None)


async def fetchall(ex: Executor, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
    if isinstance(ex, Database):
        return await ex.fetchall(sql, params)
    return list(await ex.execute_fetchall(sql, tuple(params)))


async def fetchcount(ex: Executor, sql: str, params: Iterable[Any] = ()) -> int:
    """The number a ``SELECT COUNT(*) ...`` gives (such a query always returns one row)."""
    row = await fetchone(ex, sql, params)
    return int(row[0]) if row is not None else 0


def inserted_id(cursor: aiosqlite.Cursor) -> int:
    """The row id an INSERT made (sqlite3 sets lastrowid after every INSERT)."""
    if cursor.lastrowid is None:
        raise RuntimeError("no row was inserted")
    return cursor.lastrowid
