import asyncio
import sqlite3
from datetime import datetime, timezone

import pytest
from admin.helpers import make_tenant
from backoffice.calls_seed import call_row, insert

from vidzzle_media.store import Database
from vidzzle_media.store.database import migration_files


async def test_migrations_on_empty_and_migrated_database(tmp_path):
    path = tmp_path / "v.db"
    db = Database(path)
    await db.open()
    versions = [v for v, _, _ in migration_files()]
    rows = await db.fetchall("SELECT version FROM schema_migrations ORDER BY version")
    assert [r[0] for r in rows] == versions
    await db.close()

    again = Database(path)
    await again.open()           # already migrated: nothing applied twice
    assert await again.migrate() == []
    assert await again.fetchval("SELECT COUNT(*) FROM schema_migrations") == len(versions)
    await again.close()


async def test_miss_causes_migration_gives_old_unaccepted_calls_their_cause(tmp_path):
    db = Database(tmp_path / "v.db")
    await db.open()
    tenant = await make_tenant(db, "Old Cars")
    now = datetime.now(timezone.utc)
    await insert(db, [call_row(tenant, now, state="missed", miss_reason="no_member_online"),
                      call_row(tenant, now, state="out_of_hours"), call_row(tenant, now, state="abandoned"),
                      call_row(tenant, now, state="missed", miss_reason="rang_unanswered"), call_row(tenant, now)])
    async with db.transaction() as conn:           # as if these rows were written before 0008
        await conn.execute("DELETE FROM schema_migrations WHERE version = 8")
    assert await db.migrate() == ["0008_miss_causes.sql"]
    rows = await db.fetchall("SELECT state, miss_reason FROM calls ORDER BY state, miss_reason")
    assert [tuple(r) for r in rows] == [("abandoned", "customer_cancelled"), ("ended", ""),
                                        ("missed", "no_agent_available"), ("missed", "rang_unanswered"),
                                        ("out_of_hours", "out_of_hours")]
    await db.close()


async def test_pragmas(tmp_path):
    db = Database(tmp_path / "v.db", busy_timeout_ms=1234)
    await db.open()
    assert await db.fetchval("PRAGMA journal_mode") == "wal"
    assert await db.fetchval("PRAGMA foreign_keys") == 1
    assert await db.fetchval("PRAGMA busy_timeout") == 1234
    await db.close()


async def test_transaction_rolls_back_on_error(tmp_path):
    db = Database(tmp_path / "v.db")
    await db.open()
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO system_settings(key, value) VALUES ('a', '1')")
            await conn.execute("INSERT INTO system_settings(key, value) VALUES ('a', '2')")
    assert await db.fetchval("SELECT COUNT(*) FROM system_settings") == 0
    await db.close()


async def test_foreign_keys_enforced(tmp_path):
    db = Database(tmp_path / "v.db")
    await db.open()
    with pytest.raises(sqlite3.IntegrityError):
        await db.execute(
            "INSERT INTO users(tenant_id, role, name, email, created_at) VALUES (999, 'user', 'x', 'x@y', 'now')"
        )
    await db.close()


async def test_reads_see_every_committed_write_even_after_cancelled_reads(tmp_path):
    """A read cancelled half-way (a browser that went away) used to leave a
    cursor with rows pending on the shared reader; every later read then saw
    the snapshot of that moment: a just-created user was "not of this tenant"."""
    db = Database(tmp_path / "v.db")
    await db.open()
    await db.execute("CREATE TABLE big (x INTEGER)")
    async with db.transaction() as conn:
        await conn.executemany("INSERT INTO big VALUES (?)", [(i,) for i in range(50)])
    kept = []                      # as a finished task keeps its exception (and its frames)
    stale = 0
    for n in range(60):
        reader = asyncio.create_task(db.fetchone("SELECT x FROM big"))
        for _ in range(n % 6):     # cancel it at each step of its read in turn
            await asyncio.sleep(0)
        await asyncio.sleep(0.0005 * (n % 4))
        reader.cancel()
        try:
            await reader
        except asyncio.CancelledError as exc:
            kept.append(exc)
        await db.execute("INSERT INTO big VALUES (?)", (1000 + n,))
        stale += await db.fetchval("SELECT COUNT(*) FROM big WHERE x = ?", (1000 + n,)) != 1
        stale += len(await db.fetchall("SELECT x FROM big WHERE x >= 1000")) != n + 1
    assert stale == 0
    await db.close()
