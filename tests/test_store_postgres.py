"""The store on PostgreSQL (database.url) next to SQLite: the same schema
from both migration sets, the same SQL working on both (placeholders,
inserted ids, row counts, case-blind e-mail addresses), and the schema
applied once when several nodes start at the same time."""

from __future__ import annotations

import asyncio

import pgstore
import pytest

from vidzzle_media.store import Database, PostgresDatabase, accounts, database_for, tenants
from vidzzle_media.store.database import migration_files, utcnow
from vidzzle_media.store.postgres import migration_files as pg_migration_files
from vidzzle_media.store.postgres import translate


@pytest.fixture
def pg_url():
    url, drop = pgstore.empty_database("s_")
    yield url
    drop()


def test_placeholders_become_numbered_outside_literals():
    assert translate("SELECT a FROM t WHERE b = ? AND c = '?' AND d IN (?, ?)") == \
        "SELECT a FROM t WHERE b = $1 AND c = '?' AND d IN ($2, $3)"
    assert translate('SELECT "a?" FROM t WHERE x = ?') == 'SELECT "a?" FROM t WHERE x = $1'


def test_the_postgres_migrations_reach_the_newest_sqlite_version():
    """A new SQLite migration needs its PostgreSQL twin with the same number."""
    sqlite_latest = migration_files()[-1][0]
    pg = [v for v, _, _ in pg_migration_files()]
    assert pg and pg[-1] == sqlite_latest
    assert all(v in pg for v, _, _ in migration_files() if v > pg[0])


async def test_both_migration_sets_give_the_same_tables_and_columns(tmp_path, pg_url):
    lite = Database(tmp_path / "v.db")
    await lite.open()
    sqlite_schema = {}
    for (table,) in await lite.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'"):
        sqlite_schema[table] = {(c["name"], bool(c["notnull"] or c["pk"])) for c in
                                await lite.fetchall(f"PRAGMA table_info({table})")}
    await lite.close()
    pg = database_for(pg_url, tmp_path / "unused.db", tmp_path)
    assert isinstance(pg, PostgresDatabase)
    await pg.open()
    pg_schema: dict[str, set] = {}
    for r in await pg.fetchall("SELECT table_name, column_name, is_nullable FROM information_schema.columns"
                               " WHERE table_schema = current_schema()"):
        pg_schema.setdefault(r["table_name"], set()).add((r["column_name"], r["is_nullable"] == "NO"))
    await pg.close()
    assert pg_schema == sqlite_schema


async def test_the_same_store_functions_on_postgres(tmp_path, pg_url):
    db = database_for(pg_url, tmp_path / "unused.db", tmp_path)
    await db.open()
    try:
        async with db.transaction() as conn:
            tenant = await tenants.insert_tenant(conn, name="Autohaus Süd", street="", zip="", city="", email="",
                                                 timezone="Europe/Berlin", now=utcnow())
            user = await accounts.insert_user(conn, tenant_id=tenant, role="admin", name="Anna", email="Anna@Example.com",
                                              mobile="", now=utcnow())
        assert (tenant, user) == (1, 1)                       # inserted ids, as sqlite3's lastrowid
        found = await accounts.get_user_by_email(db, "anna@example.COM")
        assert found is not None and found.id == user and found.locked is True
        with pytest.raises(Exception) as taken:               # the same address in other letters
            async with db.transaction() as conn:
                await accounts.insert_user(conn, tenant_id=tenant, role="user", name="Other", email="ANNA@example.com",
                                           mobile="", now=utcnow())
        assert getattr(taken.value, "status", None) == 409
        async with db.transaction() as conn:
            assert await accounts.update_user(conn, user, name="Anna B", email="anna@example.com", mobile="",
                                              role="admin", locked=False, notify_email=True, notify_sms=False)
            assert not await accounts.update_user(conn, 999, name="x", email="x@example.com", mobile="",
                                                  role="admin", locked=False, notify_email=True, notify_sms=False)
        assert [u.name for u in await accounts.list_users(db, tenant_id=tenant)] == ["Anna B"]
        async with db.transaction() as conn:
            assert await accounts.delete_user(conn, user, tenant_id=tenant)
        assert await accounts.count_users(db) == 0
    finally:
        await db.close()


async def test_nodes_starting_at_once_apply_the_schema_once(tmp_path, pg_url):
    nodes = [PostgresDatabase(pg_url, files_dir=tmp_path) for _ in range(3)]
    await asyncio.gather(*(n.open() for n in nodes))
    try:
        versions = await nodes[0].fetchall("SELECT version FROM schema_migrations")
        assert [r["version"] for r in versions] == [v for v, _, _ in pg_migration_files()]
    finally:
        await asyncio.gather(*(n.close() for n in nodes))
