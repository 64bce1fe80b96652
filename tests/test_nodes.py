"""vidzzle_media.nodes on its own: two Nodes on one store's notifications
(an SQLite Database delivers them within the process, as PostgreSQL does
between processes; tests/api/test_nodes.py runs whole apps on PostgreSQL)."""

from __future__ import annotations

import asyncio

import pytest

from vidzzle_media import nodes
from vidzzle_media.nodes import Nodes, home_node
from vidzzle_media.store import Database


@pytest.fixture
async def db(tmp_path):
    database = Database(tmp_path / "n.db")
    await database.open()
    yield database
    await database.close()


async def _until(condition) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not within 2 s")


async def test_nodes_hear_each_others_agents_in_parts_and_a_stop(db):
    now = [100.0]
    a = Nodes(db, lambda: "http://a", clock=lambda: now[0])
    b = Nodes(db, lambda: "http://b", clock=lambda: now[0])
    b.local_users = lambda: {uid: 7 for uid in range(1, 701)}     # more than one message holds
    heard: list[dict] = []
    a.on("push", heard.append)
    await a.start()
    await b.start()
    await _until(lambda: len(a.remote_users()) == 700)
    assert a.url_of(b.id) == "http://b" and a.remote_users()[700] == 7
    assert b.remote_users() == {} and a.url_of("nobody") is None
    await b.publish("push", users=[3], message={"type": "ringing"})
    await _until(lambda: heard)
    assert heard[0]["users"] == [3] and heard[0]["node"] == b.id
    await b.stop()                                  # said at once
    await _until(lambda: a.url_of(b.id) is None)
    assert a.remote_users() == {}
    await a.stop()


async def test_a_silent_node_is_gone_after_expires_s(db):
    now = [100.0]
    a = Nodes(db, lambda: "http://a", clock=lambda: now[0])
    b = Nodes(db, lambda: "http://b", clock=lambda: now[0])
    b.local_users = lambda: {5: 1}
    await a.start()
    await b.start()
    await _until(lambda: a.remote_users() == {5: 1})
    now[0] += nodes.EXPIRES_S - 0.1
    assert a.remote_users() == {5: 1}
    now[0] += 0.2
    assert a.remote_users() == {} and a.alive() == {}
    for node in (a, b):
        await node.stop()


async def test_unreadable_messages_are_dropped(db, caplog):
    a = Nodes(db, lambda: "http://a")
    await a.start()
    bad = ("not json", "[]", '{"kind": "node"}', '{"kind": "node", "node": "b1", "users": [[1]]}',
           '{"kind": "node", "node": "b2", "users": 5}')
    for payload in bad:
        await db.notify(nodes.CHANNEL, payload)
    await asyncio.sleep(0.05)
    assert a.remote_users() == {}
    assert caplog.text.count("unreadable message from another node") == len(bad)
    await a.stop()


def test_a_rooms_node_is_the_end_of_its_id():
    assert home_node("9f0c.ab12cd34") == "ab12cd34"
    assert home_node("9f0c") == ""
