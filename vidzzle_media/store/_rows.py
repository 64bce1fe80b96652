"""Tiny helpers so store functions work on the Database (reads) or on a
transaction's writer connection (reads inside a write)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any, Callable, Iterable, TypeVar, Union

import aiosqlite

from .database import Database

if TYPE_CHECKING:
    from .postgres import PgConnection

Connection = Union[aiosqlite.Connection, "PgConnection"]
"""A transaction's writer connection: SQLite's, or the PostgreSQL adapter with the same methods."""
Row = Any
"""A result row: ``aiosqlite.Row`` or ``asyncpg.Record`` (both by column name and by position)."""
Executor = Union[Database, Connection]
T = TypeVar("T")


def maybe(mapper: Callable[[Row], T], row: Row | None) -> T | None:
    """``mapper(row)``, or None when the query found no row."""
    return None if row is None else mapper(row)


async def fetchone(ex: Executor, sql: str, params: Iterable[Any] = ()) -> Row | None:
    if isinstance(ex, Database):
        return await ex.fetchone(sql, params)
    rows = await ex.execute_fetchall(sql, tuple(params))  # no cursor left open: see Database.fetchall
    return next(iter(rows), None)


async def fetchall(ex: Executor, sql: str, params: Iterable[Any] = ()) -> list[Row]:
    if isinstance(ex, Database):
        return await ex.fetchall(sql, params)
    return list(await ex.execute_fetchall(sql, tuple(params)))


async def fetchcount(ex: Executor, sql: str, params: Iterable[Any] = ()) -> int:
    """The number a ``SELECT COUNT(*) ...`` gives (such a query always returns one row)."""
    row = await fetchone(ex, sql, params)
    return int(row[0]) if row is not None else 0


def unique_violation(exc: BaseException) -> bool:
    """A UNIQUE constraint refused the row (SQLite's or PostgreSQL's error)."""
    if isinstance(exc, sqlite3.IntegrityError):
        return "UNIQUE" in str(exc)
    return type(exc).__name__ == "UniqueViolationError"      # asyncpg's, without importing it


def inserted_id(cursor: Any) -> int:
    """The row id an INSERT made (sqlite3's cursor, or the PostgreSQL adapter's Outcome)."""
    if cursor.lastrowid is None:
        raise RuntimeError("no row was inserted")
    return int(cursor.lastrowid)
