"""``vidzzle-media migrate-to-postgres SQLITE_FILE URL``: an install's rows
move from SQLite to an empty PostgreSQL database, every table and value
(text, numbers, bytes, NULLs) as it was; new rows continue after the copied
ids; a target that already has data is refused with nothing written."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pgstore
import pytest
from admin.helpers import make_tenant, make_user
from backoffice.calls_seed import call_row, insert

from vidzzle_media import cli, events
from vidzzle_media.store import Database, PostgresDatabase, branding, presentations, tenants
from vidzzle_media.store import calls as call_store
from vidzzle_media.store import outbox as outbox_store
from vidzzle_media.store.database import utcnow


@pytest.fixture
def target():
    url, drop = pgstore.empty_database("m_")
    yield url
    drop()


PDF = b"%PDF-1.4 the bytes of a dealer's brochure \x00\xff"


async def seed(path) -> None:
    """An install with some of everything: tenants, users, calls with events, mail, images, a presentation."""
    db = Database(path)
    await db.open()
    try:
        alpha = await make_tenant(db, "Autohaus Müller")
        await make_tenant(db, "Beta Cars")
        agent = await make_user(db, tenant_id=alpha, role="user", email="Agent@Example.com", name="Jörg Ähnlich")
        await make_user(db, tenant_id=None, role="support", email="support@example.com")
        now = datetime.now(timezone.utc)
        rows = [call_row(alpha, now - timedelta(minutes=i), duration=60 if i % 2 else 61.25, agent_id=agent,
                         agent_name="Jörg") for i in range(12)]
        rows.append(call_row(alpha, now, state="missed", miss_reason="rang_unanswered"))
        await insert(db, rows)
        async with db.transaction() as conn:
            await call_store.add_event(conn, events.CallAccepted(call_id=rows[0].id, tenant_id=alpha, at=utcnow(),
                                                                 user_id=agent, user_name="Jörg"))
            await outbox_store.enqueue(conn, kind="email", tenant_id=alpha, recipient="kunde@example.com",
                                       payload={"subject": "Grüße", "html": "<p>ß</p>"}, now=now)
            await branding.save_image(conn, alpha, "header", "image/png", bytes(range(256)) * 4, utcnow())
            await branding.save_values(conn, None, {"footer_text": "Impressum"}, utcnow())
            await presentations.insert(conn, tenant_id=alpha, title="Neuwagen", file_name="p/1.pdf", size_bytes=1234,
                                       pages=3, thumbnail=b"\x89PNG\r\n\x00\xff", make_default=True, at=utcnow())
            await presentations.insert(conn, tenant_id=alpha, title="Weg", file_name="p/gone.pdf", size_bytes=9,
                                       pages=1, thumbnail=b"\x89PNG", make_default=False, at=utcnow())
        (path.parent / "p").mkdir()
        (path.parent / "p" / "1.pdf").write_bytes(PDF)
    finally:
        await db.close()


async def table_rows(db, table: str) -> list[tuple]:
    """A table's rows, comparable across the two engines (bytes as bytes, numbers as float)."""
    def norm(v):
        if isinstance(v, (bytes, bytearray, memoryview)):
            return bytes(v)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return float(v)
        return v
    rows = await db.fetchall(f"SELECT * FROM {table}")
    return sorted((tuple(norm(v) for v in r) for r in rows), key=repr)


def test_an_install_moves_to_postgres_whole(tmp_path, target, capsys):
    source = tmp_path / "vidzzle.db"
    asyncio.run(seed(source))

    assert cli.main(["migrate-to-postgres", str(source), target]) == 0
    out = capsys.readouterr().out
    assert "tenants: 2 rows" in out and "calls: 13 rows" in out and "presentation_files: 1 rows" in out
    assert "Done:" in out
    assert "@" not in out.split("Done:")[0].split("\n", 1)[1]       # the URL (a password) is never printed

    async def compare() -> None:
        lite, pg = Database(source), PostgresDatabase(target, files_dir=tmp_path)
        await lite.open()
        await pg.open()
        try:
            tables = [r[0] for r in await lite.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'"
                                                         " AND name != 'schema_migrations'")]
            assert len(tables) >= 20
            for table in tables:
                if table != "presentation_files":
                    assert await table_rows(pg, table) == await table_rows(lite, table), table
            # the PDF files are in the store now (every node fetches them); one that was gone is not
            assert await table_rows(pg, "presentation_files") == [(1.0, PDF)]
            # the store goes on where the copy ended
            async with pg.transaction() as conn:
                new = await tenants.insert_tenant(conn, name="Gamma", street="", zip="", city="", email="",
                                                  timezone="Europe/Berlin", now=utcnow())
            assert new == 3
        finally:
            await lite.close()
            await pg.close()

    asyncio.run(compare())

    # a second run finds data there and writes nothing
    assert cli.main(["migrate-to-postgres", str(source), target]) == 1
    assert "not empty" in capsys.readouterr().err


def test_bad_arguments_are_refused_plainly(tmp_path, target, capsys):
    assert cli.main(["migrate-to-postgres", str(tmp_path / "missing.db"), target]) == 1
    assert "is not a file" in capsys.readouterr().err
    assert cli.main(["migrate-to-postgres", str(tmp_path / "x.db"), "mysql://u@h/db"]) == 2
    assert "postgresql://" in capsys.readouterr().err
