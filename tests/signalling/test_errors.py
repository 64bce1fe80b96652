"""Malformed, out-of-order and hostile input gets an error; nothing dies."""

import asyncio
import json
import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sfu.peers import Client

from .wspeer import WsPeer


async def alive(peer: WsPeer) -> None:
    """The connection still answers: an unknown type gets its error."""
    import asyncio

    await peer.send({"type": "ping?", "id": "probe"})
    for _ in range(500):
        if any(m.get("ref") == "probe" for m in peer.of_type("error")):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("connection no longer answers")


async def test_malformed_and_out_of_order(room_app):
    http, directory = room_app
    room_id = await directory.create_room()
    peer = WsPeer(await http.ws_connect("/ws/room"))
    try:
        cases = [
            ("not json", "bad_json"),
            ("[1,2]", "bad_message"),
            (json.dumps({"type": "offer", "pc": "publish", "sdp": "v=0"}), "not_joined"),
            (json.dumps({"type": "join", "token": "nope"}), "bad_token"),
            (json.dumps({"type": "join"}), "bad_message"),
        ]
        for i, (raw, code) in enumerate(cases, 1):
            await peer.ws.send_str(raw)
            assert (await peer.expect("error", count=i))["code"] == code
        await peer.join(directory.issue_token(room_id, "customer", "C"))
        n = len(peer.of_type("error"))
        more = [
            ({"type": "join", "token": "x"}, "already_joined"),
            ({"type": "answer", "pc": "subscribe", "sdp": "v=0"}, "negotiation_failed"),
            ({"type": "offer", "pc": "subscribe", "sdp": "v=0"}, "bad_message"),
            ({"type": "offer", "pc": "publish", "sdp": "garbage"}, "negotiation_failed"),
            ({"type": "candidate", "pc": "publish", "candidate": "candidate:1 1 udp 1 127.0.0.1 5 typ host"}, "negotiation_failed"),
            ({"type": "mute", "kind": "smell", "muted": True}, "bad_message"),
            ({"type": "presentation", "command": "next"}, "forbidden"),
        ]
        for i, (msg, code) in enumerate(more, n + 1):
            await peer.send(msg)
            assert (await peer.expect("error", count=i))["code"] == code, msg
        await peer.ws.send_bytes(b"\x00")
        assert (await peer.expect("error", count=len(more) + n + 1))["code"] == "bad_message"
        await alive(peer)
    finally:
        await peer.close()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=10)
message_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["join", "offer", "answer", "candidate", "mute", "presentation", "leave", "x"])},
    optional={"token": json_values, "pc": st.sampled_from(["publish", "subscribe", 3, None]),
              "sdp": json_values | st.text(max_size=200), "candidate": json_values, "kind": json_values,
              "muted": json_values, "command": json_values, "page": json_values, "sdp_mid": json_values,
              "sdp_mline_index": json_values, "document_id": json_values, "id": json_values})


def collect(strategy, n):
    out = []

    @settings(max_examples=n, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(x):
        out.append(x)

    run()
    return out


async def test_fuzzed_messages_never_crash(room_app):
    http, directory = room_app
    room_id = await directory.create_room()
    peer = WsPeer(await http.ws_connect("/ws/room"))
    try:
        await peer.join(directory.issue_token(room_id, "agent", "A"))
        sent = 0
        for msg in collect(message_like, 300):
            if msg.get("type") == "leave":
                continue
            await peer.send(msg)
            sent += 1
            # stay inside the message rate budget (burst 100, then 20/s), so
            # every message is really handled, not just rate-limited
            if sent >= 80 and sent % 20 == 0:
                await asyncio.sleep(1.05)
        await asyncio.sleep(0.1)
        await alive(peer)
        assert not [e for e in peer.of_type("error") if e["code"] == "rate_limited"]
        assert directory.entry(room_id).sessions
    finally:
        await peer.close()


def mutate_sdp(sdp: str, rnd: random.Random) -> str:
    lines = sdp.split("\r\n")
    for _ in range(rnd.randint(1, 4)):
        i = rnd.randrange(len(lines))
        op = rnd.randrange(5)
        if op == 0:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[rnd.randrange(len(lines))])
        elif op == 2 and lines[i]:
            j = rnd.randrange(len(lines[i]))
            lines[i] = lines[i][:j] + rnd.choice(["", "x", "-1", "999999999999", ":", " ", "\u00e9"]) + lines[i][j + 1:]
        elif op == 3:
            lines[i] = lines[i].split(" ")[0]
        else:
            lines[i] = lines[i].replace("0", "9")
    return "\r\n".join(lines)


@given(st.integers(min_value=0, max_value=2**32))
@settings(max_examples=1, database=None)
def test_seed_strategy_is_usable(seed):
    assert mutate_sdp("v=0\r\no=- 1 1 IN IP4 0.0.0.0", random.Random(seed))is not None


async def test_fuzzed_sdp_never_crashes(room_app):
    http, directory = room_app
    room_id = await directory.create_room()
    client = Client()
    offer = await client.offer()
    await client.close()
    seeds = collect(st.integers(min_value=0, max_value=2**32), 60)
    peer = None
    try:
        for k, seed in enumerate(seeds):
            if k % 10 == 0:  # a fresh participant now and then: a failed offer may wedge a PC
                if peer:
                    await peer.close()
                peer = WsPeer(await http.ws_connect("/ws/room"))
                await peer.join(directory.issue_token(room_id, "customer", "F"))
            await peer.send({"type": "offer", "pc": "publish", "sdp": mutate_sdp(offer, random.Random(seed))})
            await peer.send({"type": "answer", "pc": "subscribe", "sdp": mutate_sdp(offer, random.Random(seed + 1))})
        await alive(peer)
    finally:
        if peer:
            await peer.close()


async def test_message_flood_is_rate_limited(room_app):
    http, directory = room_app
    peer = WsPeer(await http.ws_connect("/ws/room"))
    try:
        for _ in range(150):
            await peer.send({"type": "nope"})
        await peer.expect("error", count=150)
        codes = [e["code"] for e in peer.of_type("error")]
        assert codes.count("rate_limited") >= 40 and codes[0] == "unknown_type"
        await asyncio.sleep(0.3)  # the budget refills
        await alive(peer)
    finally:
        await peer.close()


def _without_first_audio(sdp: str) -> str:
    """The offer with its first m=audio section cut out, the BUNDLE group kept."""
    head, *sections = sdp.split("\r\nm=")
    kept = [s for i, s in enumerate(sections) if not (i == 0 and s.startswith("audio"))]
    return "\r\nm=".join([head, *kept])


async def test_offers_aiortc_would_choke_on_are_refused_up_front(room_app, caplog):
    import logging
    import re
    caplog.set_level(logging.WARNING)
    http, directory = room_app
    room_id = await directory.create_room()
    peer = WsPeer(await http.ws_connect("/ws/room"), Client())
    try:
        await peer.join(directory.issue_token(room_id, "customer", "C"))
        good = await peer.client.offer()
        bad_offers = {"bundle": _without_first_audio(good),
                      "empty-mid": re.sub(r"a=mid:\S+", "a=mid:", good, count=1),
                      "no-fingerprint": re.sub(r"a=fingerprint:[^\r\n]+\r\n", "", good)}
        for i, sdp in enumerate(bad_offers.values()):
            await peer.send({"type": "offer", "pc": "publish", "sdp": sdp, "id": f"bad{i}"})
        for _ in range(300):
            if len([m for m in peer.of_type("error") if str(m.get("ref", "")).startswith("bad")]) == 3:
                break
            await asyncio.sleep(0.02)
        errors = [m for m in peer.of_type("error") if str(m.get("ref", "")).startswith("bad")]
        assert len(errors) == 3, peer.messages[-5:]
        await asyncio.sleep(0.5)                    # a background task that died would have logged by now
        assert not [r for r in caplog.records if r.exc_info or "never retrieved" in r.getMessage()]
        await alive(peer)
    finally:
        await peer.close()


async def test_offers_are_rate_limited_per_participant(room_app):
    http, directory = room_app
    room_id = await directory.create_room()
    peer = WsPeer(await http.ws_connect("/ws/room"), Client())
    try:
        await peer.join(directory.issue_token(room_id, "customer", "C"))
        junk = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:\r\n"
        for i in range(40):
            await peer.send({"type": "offer", "pc": "publish", "sdp": junk, "id": f"o{i}"})
        for _ in range(300):
            if len(peer.of_type("error")) >= 40:
                break
            await asyncio.sleep(0.02)
        texts = [m.get("message", "") for m in peer.of_type("error")]
        assert any("too many offers" in t for t in texts), texts[-3:]
    finally:
        await peer.close()


async def test_the_message_budget_belongs_to_the_token_not_the_connection(room_app):
    """Reconnecting with the same token does not refill the rate limit."""
    http, directory = room_app
    room_id = await directory.create_room()
    token = directory.issue_token(room_id, "customer", "C")

    async def flood(count: int) -> int:
        peer = WsPeer(await http.ws_connect("/ws/room"))
        try:
            await peer.join(token)
            for i in range(count):
                await peer.send({"type": "ping?", "id": f"p{i}"})
            for _ in range(200):
                if len(peer.of_type("error")) >= count:
                    break
                await asyncio.sleep(0.01)
            return sum(1 for m in peer.of_type("error") if m.get("code") == "rate_limited")
        finally:
            await peer.close()

    assert await flood(150) >= 40            # the burst (100) is used up
    assert await flood(20) >= 15             # a new connection with the same token is still limited


async def test_ping_is_answered_with_pong_after_join(room_app):
    """The client's path check (web/call/connection.js): a joined client's ping gets its pong."""
    http, directory = room_app
    room_id = await directory.create_room()
    peer = WsPeer(await http.ws_connect("/ws/room"))
    try:
        await peer.send({"type": "ping", "id": "early"})
        assert (await peer.expect("error"))["code"] == "not_joined"
        await peer.join(directory.issue_token(room_id, "customer", "C"))
        await peer.send({"type": "ping", "id": "p1"})
        pong = await peer.expect("pong")
        assert pong["ref"] == "p1" and pong["receiving"] is None    # it publishes nothing: nobody can tell
    finally:
        await peer.close()
