"""Tiny helpers so store functions work on the Database (reads) or on a
transaction's writer connection (reads inside a write)."""

from __future__ import annotations

from typing import Any, Iterable

import aiosqlite

from .database import Database

Executor = Database | aiosqlite.Connection


async def fetchone(ex: Executor, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
    if isinstance(ex, Database):
        return await ex.fetchone(sql, params)
    cursor = await ex.execute(sql, tuple(params))
    return await cursor.fetchone()


async def fetchall(ex: Executor, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
    if isinstance(ex, Database):
        return await ex.fetchall(sql, params)
    cursor = await ex.execute(sql, tuple(params))
    return list(await cursor.fetchall())
