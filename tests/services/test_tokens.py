"""One-time tokens: >= 128 bits, stored hashed, single use, expiring."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import pytest

from vidzzle_media.errors import Gone, NotFound
from vidzzle_media.services.accounts import tokens
from vidzzle_media.store import Database

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
async def db(tmp_path):
    database = Database(tmp_path / "t.db")
    await database.open()
    yield database
    await database.close()


async def _issue(db, ttl=timedelta(hours=1), purpose="reset"):
    async with db.transaction() as conn:
        return await tokens.issue(conn, purpose=purpose, user_id=None, tenant_id=None, subject="call-7", ttl=ttl, now=NOW)


async def test_token_is_long_random_and_only_its_hash_is_stored(db):
    token = await _issue(db)
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) * 8 >= 128
    assert token != await _issue(db)
    rows = await db.fetchall("SELECT token_hash FROM one_time_tokens")
    assert all(token not in r[0] for r in rows)
    assert tokens.token_hash(token) in {r[0] for r in rows}


async def test_single_use(db):
    token = await _issue(db)
    assert (await tokens.peek(db, token, "reset", now=NOW)).subject == "call-7"
    async with db.transaction() as conn:
        grant = await tokens.consume(conn, token=token, purpose="reset", now=NOW)
    assert grant.subject == "call-7"
    with pytest.raises(Gone):
        async with db.transaction() as conn:
            await tokens.consume(conn, token=token, purpose="reset", now=NOW)
    with pytest.raises(Gone):
        await tokens.peek(db, token, "reset", now=NOW)


async def test_expiry(db):
    token = await _issue(db, ttl=timedelta(hours=24))
    await tokens.peek(db, token, "reset", now=NOW + timedelta(hours=23, minutes=59))
    with pytest.raises(Gone):
        await tokens.peek(db, token, "reset", now=NOW + timedelta(hours=24))


async def test_unknown_and_wrong_purpose(db):
    token = await _issue(db, purpose="optin")
    with pytest.raises(NotFound):
        await tokens.peek(db, token, "reset", now=NOW)
    with pytest.raises(NotFound):
        await tokens.peek(db, "A" * 43, "optin", now=NOW)
    with pytest.raises(NotFound):
        async with db.transaction() as conn:
            await tokens.consume(conn, token="", purpose="optin", now=NOW)


async def test_long_expired_tokens_are_purged_when_a_new_one_is_issued(db):
    old = await _issue(db)                                  # expires NOW + 1 h
    async with db.transaction() as conn:                    # 29 days after it expired: still remembered
        await tokens.issue(conn, purpose="reset", user_id=None, tenant_id=None, subject="x", ttl=timedelta(hours=1),
                           now=NOW + timedelta(days=29, hours=1))
    assert (await db.fetchone("SELECT COUNT(*) FROM one_time_tokens WHERE token_hash = ?",
                              (tokens.token_hash(old),)))[0] == 1
    async with db.transaction() as conn:                    # 31 days after: purged
        await tokens.issue(conn, purpose="reset", user_id=None, tenant_id=None, subject="x", ttl=timedelta(hours=1),
                           now=NOW + timedelta(days=31, hours=1))
    assert (await db.fetchone("SELECT COUNT(*) FROM one_time_tokens WHERE token_hash = ?",
                              (tokens.token_hash(old),)))[0] == 0
    assert (await db.fetchone("SELECT COUNT(*) FROM one_time_tokens"))[0] == 2
