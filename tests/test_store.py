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
