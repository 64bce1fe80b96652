"""Online backup of the SQLite database.

SQLite's backup API copies a consistent snapshot page by page while the
server keeps reading and writing (WAL), so a backup needs no downtime.
Restoring is copying the backup file into place while the server is stopped.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


def backup_database(source: str | Path, destination: str | Path, pages_per_step: int = 1024) -> int:
    """Copy ``source`` into ``destination`` (atomically replaced); returns its size in bytes.

    Blocking: run it in a thread when called from the event loop.
    """
    source, destination = Path(source), Path(destination)
    if not source.exists():
        raise FileNotFoundError(f"database {source} does not exist")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst, pages=pages_per_step)
            # A backup is a single self-contained file: no -wal beside it.
            dst.execute("PRAGMA journal_mode = DELETE")
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise RuntimeError(f"backup failed its integrity check: {check}")
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(partial, destination)
    return destination.stat().st_size
