"""/dev/room exists only with dev_pages; its token endpoint creates and joins rooms."""

from aiohttp import web

from vidzzle_media import signalling
from vidzzle_media.sfu import DefaultIce, IcePolicy, aiortc_glue


async def test_dev_page_only_when_enabled(aiohttp_client):
    app = web.Application()
    signalling.setup(app, signalling.RoomDirectory(IcePolicy(DefaultIce())), dev_pages=False)
    client = await aiohttp_client(app)
    assert (await client.get("/dev/room")).status == 404
    aiortc_glue.set_host_addresses(None)


async def test_dev_page_creates_then_joins_a_room(room_app):
    http, directory = room_app
    assert (await http.get("/dev/room")).status == 200
    first = await (await http.post("/dev/room/token", json={"display_name": "A"})).json()
    assert first["role"] == "agent" and directory.grant(first["token"]).room_id == first["room_id"]
    second = await (await http.post("/dev/room/token", json={"room_id": first["room_id"], "display_name": "B"})).json()
    assert second["room_id"] == first["room_id"] and second["role"] == "invitee"
    entry = directory.entry(first["room_id"])
    assert entry.presentation is not None and entry.presentation.state.page_count == 2


async def test_tokens_are_scoped_and_revoked(room_app):
    http, directory = room_app
    room_a = await directory.create_room()
    token = directory.issue_token(room_a, "customer", "C")
    assert directory.issue_token(room_a, "customer", "C") != token     # each its own connection
    grant = directory.grant(token)
    assert (grant.room_id, grant.role, grant.display_name) == (room_a, "customer", "C")
    body, _, signature = token.partition(".")
    assert directory.grant(body[:-1] + ("A" if body[-1] != "A" else "B") + "." + signature) is None  # tampered
    assert directory.grant(body) is None and directory.grant("") is None
    await directory.close_room(room_a, "ended")
    ws = await http.ws_connect("/ws/room")          # the room is gone: so is what the token opens
    await ws.send_json({"type": "join", "token": token})
    assert (await ws.receive_json(timeout=5))["code"] == "bad_token"
    await ws.close()


async def test_broken_pdf_still_gives_a_room(room_app, tmp_path):
    from vidzzle_media.signalling import Document

    http, directory = room_app
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4 not really")
    room_id = await directory.create_room([Document("x", "Broken", str(bad))])
    assert directory.entry(room_id).presentation is None
