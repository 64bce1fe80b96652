"""The one database handle: a single writer connection plus a reader.

SQLite in WAL mode lets readers run beside the writer, but only one writer at
a time; funnelling every write through one connection and one asyncio lock
turns "database is locked" into an ordinary await. Migrations are numbered
``migrations/NNNN_name.sql`` files applied in order at start and recorded in
``schema_migrations`` so each runs exactly once.
"""

from __future__ import annotations

import asyncio
import logging
import re
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterable

import aiosqlite

if TYPE_CHECKING:
    from ._rows import Connection

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def utcnow() -> str:
    """Timestamps are stored as UTC ISO-8601 text (portable, sortable)."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every bundled migration, in order."""
    found = []
    for entry in resources.files(__package__).joinpath("migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"duplicate migration numbers: {versions}")
    return found


class Database:
    """Owns the writer and reader connections of one SQLite file.

    ``store.postgres.PostgresDatabase`` is the same interface on PostgreSQL
    (``database.url``); :func:`database_for` picks one from the settings."""

    dialect = "sqlite"
    shared = False
    """Whether other processes (nodes) use this store at the same time: never for an SQLite file."""

    def __init__(self, path: str | Path, busy_timeout_ms: int = 5000):
        self.path = Path(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._listeners: dict[str, list[Callable[[str], None]]] = {}

    @property
    def files_dir(self) -> Path:
        """Where the files the rows point to live (uploaded PDFs): beside the database file."""
        return self.path.resolve().parent

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = aiosqlite.Row
        await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        await conn.execute("PRAGMA foreign_keys = ON")
        return conn

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer = await self._connect()
        await self._writer.execute("PRAGMA journal_mode = WAL")
        await self._writer.execute("PRAGMA synchronous = NORMAL")
        await self.migrate()
        self._reader = await self._connect()

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None

    async def migrate(self) -> list[str]:
        """Apply pending migrations; returns the names applied now."""
        assert self._writer is not None
        await self._writer.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        cursor = await self._writer.execute("SELECT version FROM schema_migrations")
        done = {row[0] for row in await cursor.fetchall()}
        applied = []
        async with self._write_lock:
            for version, name, sql in migration_files():
                if version in done:
                    continue
                # executescript commits on its own; wrap the file in one
                # transaction so a failing migration leaves nothing behind.
                await self._writer.executescript(
                    "BEGIN IMMEDIATE;\n" + sql + "\n;INSERT INTO schema_migrations(version, name, applied_at) "
                    f"VALUES ({version}, '{name}', '{utcnow()}');\nCOMMIT;"
                )
                applied.append(name)
                log.info("applied migration %s", name)
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """The only way to write: one writer at a time, all or nothing."""
        assert self._writer is not None, "database not open"
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            else:
                await self._writer.execute("COMMIT")

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[aiosqlite.Row]:
        """Every row, read in one call on the reader's thread.

        The reader is shared by all concurrent requests. A cursor left open
        with rows pending keeps its read transaction, and every later read on
        the connection sees that old snapshot: a cursor stepped over several
        awaits does that while another request reads, and one whose caller
        was cancelled (a browser that went away) does it until it is garbage
        collected. Executing and reading to the end in one call leaves none."""
        assert self._reader is not None, "database not open"
        return list(await self._reader.execute_fetchall(sql, tuple(params)))

    async def fetchone(self, sql: str, params: Iterable[Any] = ()) -> aiosqlite.Row | None:
        """The first row (the callers look rows up by key), read like :meth:`fetchall`."""
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, params: Iterable[Any] = ()) -> Any:
        row = await self.fetchone(sql, params)
        return None if row is None else row[0]

    async def listen(self, channel: str, callback: Callable[[str], None]) -> None:
        """Call ``callback(payload)`` for every :meth:`notify` on ``channel``:
        of every process using the store, this one included. An SQLite
        file has one process, so its notifications stay in it."""
        self._listeners.setdefault(channel, []).append(callback)

    async def notify(self, channel: str, payload: str) -> None:
        """Tell every listener of ``channel`` (after this call returns)."""
        loop = asyncio.get_running_loop()
        for callback in self._listeners.get(channel, ()):
            loop.call_soon(callback, payload)

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> int:
        """A single write statement in its own transaction; returns lastrowid."""
        async with self.transaction() as conn:
            cursor = await conn.execute(sql, tuple(params))
            return cursor.lastrowid or 0


def database_for(url: str, path: str | Path, data_dir: str | Path, busy_timeout_ms: int = 5000) -> Database:
    """The store the settings name: PostgreSQL for a ``database.url`` (files in
    ``data_dir``), else the SQLite file ``path``."""
    if url:
        from .postgres import PostgresDatabase

        return PostgresDatabase(url, files_dir=Path(data_dir))
    return Database(path, busy_timeout_ms)
