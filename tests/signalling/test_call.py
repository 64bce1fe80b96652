"""Two real aiortc participants through the WebSocket protocol."""

import asyncio

from sfu.peers import Client, wait_for
from sfu.test_presentation import make_pdf

from vidzzle_media.signalling import Document

from .wspeer import WsPeer


async def test_call_through_websocket(room_app, tmp_path):
    http, directory = room_app
    events = []
    directory.on("participant_joined", events.append)
    directory.on("participant_left", events.append)
    directory.on("room_closed", events.append)
    pdf = make_pdf(tmp_path / "p.pdf", [(1, 0, 0), (0, 0, 1)])
    room_id = await directory.create_room([Document("d1", "Deck", pdf)])
    agent = WsPeer(await http.ws_connect("/ws/room"), Client())
    customer = WsPeer(await http.ws_connect("/ws/room"), Client(width=640, height=360))
    try:
        joined = await agent.join(directory.issue_token(room_id, "agent", "Anna"))
        assert joined["role"] == "agent" and joined["presentation"]["page"] == 1
        await customer.join(directory.issue_token(room_id, "customer", "Carl"))
        assert (await agent.expect("participant_joined"))["display_name"] == "Carl"
        await agent.publish()
        await customer.publish()
        # each sees the other's audio+video and the presentation
        await wait_for(lambda: len(agent.client.received) == 3 and len(customer.client.received) == 3)
        everything = agent.client.received + customer.client.received
        await wait_for(lambda: all(r.frames >= 1 for r in everything)
                       and sum(r.frames > 5 for r in everything) == 4)  # a static page sends ~1 frame
        sizes = [r.sizes for r in agent.client.video_received()]
        assert {(640, 360)} in sizes and {(1280, 720)} in sizes
        added = agent.of_type("track_added")
        assert {t["source"] for t in added} == {"presentation", "camera", "microphone"}

        # the path check of a client whose inbound media stalls: the server does get this one's media
        # (a loaded machine may hold a packet back for a second: asked a few times, as the page does)
        for n in range(1, 11):
            await customer.send({"type": "ping", "id": f"p{n}"})
            if (await customer.expect("pong", count=n))["receiving"] is True:
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("the server never saw the customer's media arrive")

        # trickled candidates right behind the answers were all accepted
        assert not agent.of_type("error") and not customer.of_type("error")

        # presentation: agent only
        await customer.send({"type": "presentation", "command": "next", "id": "c1"})
        err = await customer.expect("error")
        assert err["code"] == "forbidden" and err["ref"] == "c1"
        await agent.send({"type": "presentation", "command": "next"})
        state = await customer.expect("presentation_state")
        assert state["page"] == 2 and state["page_count"] == 2

        await customer.send({"type": "mute", "kind": "audio", "muted": True})
        assert (await agent.expect("mute"))["muted"] is True

        await customer.send({"type": "leave"})
        await customer.expect("left")
        left = await agent.expect("participant_left")
        assert left["participant_id"] == customer.of_type("joined")[0]["participant_id"]
        await agent.expect("track_removed", count=2)

        await directory.close_room(room_id, "ended")
        assert (await agent.expect("room_closed"))["reason"] == "ended"
        await asyncio.wait_for(agent.closed.wait(), 3)
        kinds = [type(e).__name__ for e in events]
        assert kinds == ["ParticipantEvent", "ParticipantEvent", "ParticipantEvent", "ParticipantEvent", "RoomClosed"]
        assert [e.role for e in events[:2]] == ["agent", "customer"]
        assert not directory.rooms
    finally:
        await agent.close()
        await customer.close()


async def test_rejoin_with_same_token_replaces_connection(room_app):
    http, directory = room_app
    room_id = await directory.create_room()
    token = directory.issue_token(room_id, "customer", "C")
    first = WsPeer(await http.ws_connect("/ws/room"))
    second = WsPeer(await http.ws_connect("/ws/room"))
    try:
        await first.join(token)
        await second.join(token)
        assert (await first.expect("room_closed"))["reason"] == "replaced"
        await asyncio.wait_for(first.closed.wait(), 3)
        entry = directory.entry(room_id)
        await wait_for(lambda: len(entry.room.participants) == 1)
        assert list(entry.sessions.values())[0].ws is not None
    finally:
        await first.close()
        await second.close()
