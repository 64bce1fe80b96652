"""PostgreSQL as the store (``database.url = "postgresql://..."``), for
several nodes sharing one database.

The store's SQL is written once, for both engines: ``?`` placeholders,
ISO-8601 text timestamps, 0/1 integers for flags, no JSON functions (the
store reads and edits JSON in Python). This module runs that SQL on
asyncpg: ``?`` becomes ``$1, $2, ...``, an INSERT into a table with an
``id`` column gets ``RETURNING id`` (what SQLite's ``lastrowid`` gives), and
the command tag gives ``rowcount``. The schema is ``migrations/postgres``:
a baseline equal to the SQLite migrations up to its number, then one file
per later migration, numbered as its SQLite twin.
"""

from __future__ import annotations

import asyncio
import logging
import re
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Iterable

from .database import Database, utcnow

if TYPE_CHECKING:
    from ._rows import Connection

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_INSERT_INTO = re.compile(r"^\s*INSERT\s+INTO\s+(\w+)", re.IGNORECASE)


@lru_cache(maxsize=2048)
def translate(sql: str) -> str:
    """``?`` placeholders to ``$n`` (not inside quoted literals or identifiers)."""
    out: list[str] = []
    n = 0
    quote: str | None = None
    for ch in sql:
        if quote is not None:
            if ch == quote:
                quote = None
        elif ch in ("'", '"'):
            quote = ch
        elif ch == "?":
            n += 1
            out.append(f"${n}")
            continue
        out.append(ch)
    return "".join(out)


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) of the PostgreSQL migrations, in order."""
    found = []
    for entry in resources.files(__package__).joinpath("migrations", "postgres").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


@dataclass
class Outcome:
    """What a write did, as an sqlite3 cursor says it."""

    rowcount: int
    lastrowid: int | None = None


def _count(tag: str) -> int:
    """Rows a command touched, from its tag ("UPDATE 3", "INSERT 0 1")."""
    last = tag.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class PgConnection:
    """A transaction's connection, with the methods the store uses of aiosqlite's."""

    dialect = "postgres"

    def __init__(self, conn: Any, id_tables: frozenset[str]) -> None:
        self._conn = conn
        self._id_tables = id_tables

    async def execute(self, sql: str, parameters: Iterable[Any] = ()) -> Outcome:
        params = tuple(parameters)
        match = _INSERT_INTO.match(sql)
        if match and match.group(1).lower() in self._id_tables and "RETURNING" not in sql.upper():
            row = await self._conn.fetchrow(translate(sql) + " RETURNING id", *params)
            return Outcome(0, None) if row is None else Outcome(1, row["id"])
        return Outcome(_count(await self._conn.execute(translate(sql), *params)))

    async def executemany(self, sql: str, seq: Iterable[Iterable[Any]]) -> None:
        await self._conn.executemany(translate(sql), [tuple(p) for p in seq])

    async def execute_fetchall(self, sql: str, parameters: Iterable[Any] = ()) -> list[Any]:
        return list(await self._conn.fetch(translate(sql), *tuple(parameters)))


class PostgresDatabase(Database):
    """The store on a PostgreSQL server: :class:`Database`'s interface on a
    connection pool. Writes go one at a time per process, as on SQLite (the
    store's read-then-write steps rely on it); across nodes the rows' own
    conditions decide (e.g. the accept's compare-and-set)."""

    dialect = "postgres"
    shared = True
    """Several nodes may use it at once (issue 31)."""

    def __init__(self, url: str, files_dir: Path, pool_size: int = 10) -> None:   # not super().__init__: that is SQLite's
        self.url = url
        self._files_dir = files_dir
        self.pool_size = pool_size
        self._pool: Any = None
        self._write_lock = asyncio.Lock()
        self._id_tables: frozenset[str] = frozenset()
        self._listening: Any = None
        """The connection LISTENing for other nodes' notifications (asyncpg's need one of their own)."""
        self._channels: dict[str, Callable[[str], None]] = {}
        self._relisten: asyncio.Future[None] | None = None
        self._closing = False

    @property
    def files_dir(self) -> Path:
        """Where the files the rows point to live: this node's data folder
        (presentations uploaded on another node are fetched into it from the
        store: services/branding/presentations.py)."""
        return self._files_dir

    def __repr__(self) -> str:
        return f"PostgresDatabase({_without_password(self.url)!r})"

    async def open(self) -> None:
        import asyncpg

        self._closing = False
        self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=self.pool_size)
        await self.migrate()
        rows = await self._pool.fetch(
            "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND column_name = 'id' AND (is_identity = 'YES' OR column_default LIKE 'nextval%')")
        self._id_tables = frozenset(r["table_name"] for r in rows)

    async def close(self) -> None:
        self._closing = True        # a listening connection closed now is not made again
        if self._relisten is not None:
            self._relisten.cancel()
            await asyncio.gather(self._relisten, return_exceptions=True)
        if self._listening is not None:
            await self._listening.close()
            self._listening = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def migrate(self) -> list[str]:
        """Apply pending migrations, each in one transaction; an advisory lock
        keeps two nodes starting at once from applying one twice."""
        applied: list[str] = []
        async with self._pool.acquire() as conn:
            await conn.execute("SELECT pg_advisory_lock(4242001)")
            try:
                await conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                                   " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
                done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
                latest = max(done, default=0)
                for version, name, sql in migration_files():
                    if version <= latest:
                        continue
                    async with conn.transaction():
                        await conn.execute(sql)
                        await conn.execute("INSERT INTO schema_migrations(version, name, applied_at) VALUES ($1, $2, $3)",
                                           version, name, utcnow())
                    applied.append(name)
                    log.info("applied migration %s", name)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(4242001)")
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """The only way to write: all or nothing."""
        assert self._pool is not None, "database not open"
        async with self._write_lock, self._pool.acquire() as conn, conn.transaction():
            yield PgConnection(conn, self._id_tables)

    @asynccontextmanager
    async def raw_transaction(self) -> AsyncIterator[Any]:
        """An asyncpg connection in a transaction, for bulk work (the move from SQLite: COPY)."""
        assert self._pool is not None, "database not open"
        async with self._write_lock, self._pool.acquire() as conn, conn.transaction():
            yield conn

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        assert self._pool is not None, "database not open"
        return list(await self._pool.fetch(translate(sql), *tuple(params)))

    async def listen(self, channel: str, callback: Callable[[str], None]) -> None:
        """LISTEN on ``channel``: every node's NOTIFY reaches ``callback``, this
        node's too. A lost listening connection (PostgreSQL restarted, the
        network between) is made again, every second until it is back."""
        self._channels[channel] = callback
        if self._listening is None:
            await self._listen_again()
        else:
            await self._listening.add_listener(channel, _deliver(callback))

    async def _listen_again(self) -> None:
        import asyncpg

        self._listening = await asyncpg.connect(self.url)
        self._listening.add_termination_listener(self._listening_lost)
        for channel, callback in self._channels.items():
            await self._listening.add_listener(channel, _deliver(callback))

    def _listening_lost(self, _conn: Any) -> None:
        if self._closing:
            return
        log.warning("the connection listening to the other nodes was lost: connecting again")
        self._listening = None
        self._relisten = asyncio.ensure_future(self._relisten_loop())

    async def _relisten_loop(self) -> None:
        while not self._closing and self._listening is None:
            try:
                await self._listen_again()
                log.info("listening to the other nodes again")
            except Exception as exc:     # OSError, or asyncpg's own errors while the server is not back yet
                log.warning("listening to the other nodes failed (%r): trying again in 1 s", exc)
                self._listening = None
                await asyncio.sleep(1.0)

    async def notify(self, channel: str, payload: str) -> None:
        """NOTIFY (delivered when committed, in order per sender; at most 8,000 bytes)."""
        assert self._pool is not None, "database not open"
        await self._pool.execute("SELECT pg_notify($1, $2)", channel, payload)

    # fetchone, fetchval and execute are Database's: they go through fetchall and transaction


def _deliver(callback: Callable[[str], None]) -> Callable[[Any, int, str, str], None]:
    return lambda _conn, _pid, _channel, payload: callback(payload)


def _without_password(url: str) -> str:
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)
