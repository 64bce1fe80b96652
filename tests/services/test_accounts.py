"""Accounts services without HTTP: passwords, the CLI support account, throttling order."""

from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

import pgstore
import pytest

from vidzzle_media.errors import Conflict, TooManyRequests, Unauthorized
from vidzzle_media.services.accounts import links, passwords, throttle
from vidzzle_media.services.accounts import users as accounts


@pytest.fixture
async def db(settings):
    database = pgstore.database(settings)
    await database.open()
    yield database
    await database.close()


async def test_argon2id_phc_hash(db):
    phc = await passwords.hash_password("s3cret password")
    assert phc.startswith("$argon2id$") and "s3cret" not in phc
    assert await passwords.verify_password("s3cret password", phc)
    assert not await passwords.verify_password("wrong", phc)
    assert not await passwords.verify_password("anything", None)
    assert phc != await passwords.hash_password("s3cret password")   # salted


async def test_create_support_account_url(db, settings):
    settings.server.public_url = ""
    settings.tls.enabled = True
    url = await links.create_support_account(db, settings, "ops@example.com")
    assert url.startswith(f"https://localhost:{settings.server.port}/admin/set-password/")
    row = await db.fetchone("SELECT role, tenant_id, locked, password_hash FROM users WHERE email = 'ops@example.com'")
    assert tuple(row) == ("support", None, 1, None)
    settings.server.public_url = "https://video.example.com/"
    again = await links.create_support_account(db, settings, "ops@example.com")   # not confirmed yet: new link
    assert again.startswith("https://video.example.com/admin/set-password/") and again != url


async def test_create_support_refuses_existing_confirmed_account(db, settings):
    await links.create_support_account(db, settings, "ops@example.com")
    await db.execute("UPDATE users SET password_hash = 'x' WHERE email = 'ops@example.com'")
    with pytest.raises(Conflict):
        await links.create_support_account(db, settings, "OPS@example.com")


async def test_throttle_applies_before_hashing(db, settings):
    now = datetime.now(timezone.utc)
    for _ in range(settings.security.login_max_failures):
        await throttle.record_failure(db, settings.security, email="x@example.com", address="10.0.0.1", now=now)
    with pytest.raises(TooManyRequests):
        await accounts.authenticate(db, settings, email="x@example.com", password="p", address="10.0.0.9", now=now)
    with pytest.raises(TooManyRequests):
        await accounts.authenticate(db, settings, email="y@example.com", password="p", address="10.0.0.1", now=now)
    # a throttled attempt is not even counted (it never reached the hash)
    assert await db.fetchval("SELECT COUNT(*) FROM login_failures WHERE key = 'account:y@example.com'") == 0
    with pytest.raises(Unauthorized):
        await accounts.authenticate(db, settings, email="y@example.com", password="p", address="10.0.0.2", now=now)


def test_cli_create_support_prints_link(tmp_path):
    out = subprocess.run([sys.executable, "-m", "vidzzle_media", "create-support", "first@example.com",
                          "--data-dir", str(tmp_path / "data")], capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "/admin/set-password/" in out.stdout and "https://localhost:8443" in out.stdout
