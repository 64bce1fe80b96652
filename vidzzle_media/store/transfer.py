"""Moving an install from SQLite to PostgreSQL
(``vidzzle-media migrate-to-postgres SQLITE_FILE URL``).

Both stores are first brought to the newest schema by their own
migrations; then every table's rows are copied, parents before children
(the foreign keys of the SQLite schema decide the order), in one PostgreSQL
transaction: either everything arrives or nothing does. The identity
sequences then continue after the highest copied id. The target must be
empty: a move never merges two installs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .database import Database
from .postgres import PostgresDatabase

log = logging.getLogger(__name__)


class TransferError(Exception):
    """The move cannot start (the message says why); nothing was written."""


@dataclass(frozen=True)
class Copied:
    table: str
    rows: int


async def _tables_in_order(source: Database) -> list[str]:
    """Every table of the SQLite schema, each after the tables it references."""
    names = [r[0] for r in await source.fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'schema_migrations'"
        " ORDER BY name")]
    parents = {name: {r["table"] for r in await source.fetchall(f"PRAGMA foreign_key_list({name})")} - {name}
               for name in names}
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and parents[n] <= set(ordered)]
        if not ready:
            raise TransferError(f"circular foreign keys among {sorted(set(names) - set(ordered))}")
        ordered += ready
    return ordered


def _converter(pg_type: str) -> Callable[[Any], Any]:
    """SQLite is loosely typed (a REAL column may hold 60, an INTEGER one '1'): the PostgreSQL column's type decides."""
    if pg_type in ("double precision", "real"):
        return lambda v: None if v is None else float(v)
    if pg_type in ("integer", "bigint", "smallint"):
        return lambda v: None if v is None else int(v)
    if pg_type == "bytea":
        return lambda v: None if v is None else bytes(v)
    if pg_type == "text":
        return lambda v: None if v is None else str(v)
    return lambda v: v


async def transfer(source_file: str | Path, url: str, *, progress: Callable[[Copied], None] = lambda c: None,
                   batch: int = 5000) -> list[Copied]:
    """Copy every row of the SQLite file to the (empty) PostgreSQL database at ``url``."""
    path = Path(source_file)
    if not path.is_file():
        raise TransferError(f"{path} is not a file")
    source = Database(path)
    target = PostgresDatabase(url, files_dir=path.parent)
    await source.open()
    try:
        await target.open()
        try:
            return await _copy(source, target, progress, batch)
        finally:
            await target.close()
    finally:
        await source.close()


async def _copy(source: Database, target: PostgresDatabase, progress: Callable[[Copied], None],
                batch: int) -> list[Copied]:
    tables = await _tables_in_order(source)
    for table in tables:
        if await target.fetchval(f"SELECT EXISTS (SELECT 1 FROM {table})"):
            raise TransferError(f"the PostgreSQL database is not empty ({table} has rows): a move never merges two installs")
    done: list[Copied] = []
    async with target.raw_transaction() as conn:
        for table in tables:
            if table == "presentation_files":       # files on SQLite, rows on PostgreSQL
                copied = Copied(table, await _presentation_files(source, conn))
                done.append(copied)
                progress(copied)
                continue
            columns = [r["name"] for r in await source.fetchall(f"PRAGMA table_info({table})")]
            types = {r["column_name"]: r["data_type"] for r in await conn.fetch(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = $1", table)}
            missing = [c for c in columns if c not in types]
            if missing:
                raise TransferError(f"{table}: no column {missing} on PostgreSQL (schema versions differ?)")
            convert = [_converter(types[c]) for c in columns]
            count = 0
            offset = 0
            while True:
                rows = await source.fetchall(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid LIMIT ? OFFSET ?",
                                             (batch, offset))
                if not rows:
                    break
                records = [tuple(f(v) for f, v in zip(convert, row, strict=True)) for row in rows]
                await conn.copy_records_to_table(table, records=records, columns=columns)
                count += len(records)
                offset += len(rows)
            if "id" in columns and types.get("id") in ("bigint", "integer"):
                await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                                   f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)")
            copied = Copied(table, count)
            done.append(copied)
            progress(copied)
            log.info("migrate-to-postgres: %s: %d rows", table, count)
    return done


async def _presentation_files(source: Database, conn: Any) -> int:
    """The presentations' PDFs: files beside the SQLite database, rows in the
    store on PostgreSQL (every node fetches them from there). A file that is
    gone is left out, as the one node would have left it out of its calls."""
    count = 0
    for row in await source.fetchall("SELECT id, file_name FROM presentations ORDER BY id"):
        path = source.files_dir / row["file_name"]
        if not path.is_file():
            log.warning("migrate-to-postgres: presentation %d: file %s missing, not copied", row["id"], path)
            continue
        await conn.execute("INSERT INTO presentation_files(presentation_id, data) VALUES ($1, $2)", row["id"],
                           path.read_bytes())
        count += 1
    return count
