"""PostgreSQL for the tests. ``VIDZZLE_TEST_PG_ADMIN`` is the admin URL of
a throwaway cluster (``scripts/postgres-for-tests`` starts one and prints
it): the PostgreSQL-only tests use it (``cluster()``). With
``VIDZZLE_TEST_STORE=postgres`` as well, the whole suite runs on it: every
test's settings get a database of their own, copied from a template migrated
once per session, and dropped after the test."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import uuid
from pathlib import Path
from typing import Callable

ADMIN = "VIDZZLE_TEST_PG_ADMIN"
STORE = "VIDZZLE_TEST_STORE"
TEMPLATE = "vidzzle_test_template"
_template_ready = False
_finished: list[str] = []
"""Databases of finished tests, dropped when the next test gets its own: a
test's settings are torn down before the app that uses them (fixture order)."""


def cluster() -> str:
    """The cluster's admin URL; without one the test is skipped (in CI: fails,
    scripts/test starts the cluster)."""
    import pytest

    url = os.environ.get(ADMIN)
    if not url:
        if os.environ.get("CI"):
            pytest.fail(f"{ADMIN} is not set: scripts/test starts PostgreSQL for the tests", pytrace=False)
        pytest.skip(f"no PostgreSQL for the tests ({ADMIN}; scripts/postgres-for-tests starts one)")
    return url


def admin_url() -> str | None:
    """The cluster to run the whole suite on, when VIDZZLE_TEST_STORE=postgres."""
    return os.environ.get(ADMIN) if os.environ.get(STORE) == "postgres" else None


def _url(admin: str, database: str) -> str:
    return admin.rsplit("/", 1)[0] + "/" + database


def _run(coro):
    """Run ``coro`` to the end on a loop of its own (fixtures may be set up beside a running loop)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _make_template(admin: str) -> None:
    from vidzzle_media.store.postgres import PostgresDatabase

    await _execute(admin, f"DROP DATABASE IF EXISTS {TEMPLATE} WITH (FORCE)")
    await _execute(admin, f"CREATE DATABASE {TEMPLATE}")
    db = PostgresDatabase(_url(admin, TEMPLATE), files_dir=Path("."))
    await db.open()          # migrates
    await db.close()


async def _execute(admin: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _create(admin: str, name: str) -> None:
    await _execute(admin, f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")


async def _drop(admin: str, name: str) -> None:
    await _execute(admin, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def empty_database(prefix: str) -> tuple[str, Callable[[], None]]:
    """(URL of a new empty database on the cluster, a function that drops it): for the
    PostgreSQL-only tests, which bring the schema themselves."""
    admin = cluster()
    name = prefix + uuid.uuid4().hex[:16]
    _run(_execute(admin, f"CREATE DATABASE {name}"))
    return _url(admin, name), lambda: _run(_drop(admin, name))


def fresh_database(admin: str) -> tuple[str, object]:
    """(URL of a new migrated database, a function that marks it finished)."""
    global _template_ready
    if not _template_ready:
        _run(_make_template(admin))
        _template_ready = True
    while _finished:
        _run(_drop(admin, _finished.pop()))
    name = "t_" + uuid.uuid4().hex[:16]
    _run(_create(admin, name))
    return _url(admin, name), lambda: _finished.append(name)


def database(settings):
    """The store ``settings`` name (as the app opens it): SQLite, or this test's PostgreSQL database."""
    from vidzzle_media.store import database_for

    return database_for(settings.database.url, settings.database_path, settings.data_path)
