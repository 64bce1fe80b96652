import asyncio
import subprocess
import sys

from vidzzle_media.store import Database
from vidzzle_media.store.backup import backup_database


async def test_backup_while_writing_and_restore(tmp_path):
    """A backup taken while another connection keeps writing is a consistent,
    openable database; restoring it (copy into place) gives the data back."""
    db = Database(tmp_path / "live.db")
    await db.open()
    for i in range(200):
        await db.execute("INSERT INTO system_settings(key, value) VALUES (?, ?)", (f"k{i}", "v"))

    async def keep_writing():
        for i in range(200, 400):
            await db.execute("INSERT INTO system_settings(key, value) VALUES (?, ?)", (f"k{i}", "v"))

    writer = asyncio.create_task(keep_writing())
    await asyncio.to_thread(backup_database, tmp_path / "live.db", tmp_path / "backup.db")
    await writer
    await db.close()

    restored_path = tmp_path / "restored" / "vidzzle.db"
    restored_path.parent.mkdir()
    restored_path.write_bytes((tmp_path / "backup.db").read_bytes())
    restored = Database(restored_path)
    await restored.open()
    count = await restored.fetchval("SELECT COUNT(*) FROM system_settings")
    assert 200 <= count <= 400
    # the snapshot is a prefix of the writes: k0..k(count-1), nothing torn
    keys = {r[0] for r in await restored.fetchall("SELECT key FROM system_settings")}
    assert keys == {f"k{i}" for i in range(count)}
    await restored.close()


def test_backup_cli(tmp_path):
    data = tmp_path / "data"
    subprocess.run([sys.executable, "-c", (
        "import asyncio; from vidzzle_media.store import Database\n"
        f"async def m():\n d=Database({str(data / 'vidzzle.db')!r}); await d.open(); await d.close()\n"
        "asyncio.run(m())")], check=True)
    out = subprocess.run([sys.executable, "-m", "vidzzle_media", "backup", str(tmp_path / "b.db"),
                          "--data-dir", str(data)], capture_output=True, text=True, check=True).stdout
    assert "Backed up" in out and (tmp_path / "b.db").stat().st_size > 0
    missing = subprocess.run([sys.executable, "-m", "vidzzle_media", "backup", str(tmp_path / "c.db"),
                              "--data-dir", str(tmp_path / "none")], capture_output=True, text=True)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_backup_with_postgres_points_to_pg_dump(tmp_path, monkeypatch, capsys):
    """With database.url the store is PostgreSQL: no SQLite file is copied, the admin is told what to use."""
    from vidzzle_media import cli

    monkeypatch.setenv("VIDZZLE_DATABASE_URL", "postgresql://vidzzle:secret-pw@127.0.0.1:1/vidzzle")
    assert cli.main(["backup", str(tmp_path / "b.db"), "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "pg_dump" in err and "secret-pw" not in err
    assert not (tmp_path / "b.db").exists()
