"""The naive baseline for ``bench/fanout.py --mode relay`` (bench-only).

A tiny alternative room using only aiortc's PUBLIC API: the publisher's
tracks are decoded once by aiortc's receiver and shared through
``aiortc.contrib.media.MediaRelay``; every receiver gets its own
``RTCRtpSender`` and therefore its own VP8/Opus ENCODER. This is the
decode-once + encode-per-receiver design the SFU avoids (DESIGN.md).

It speaks the subset of the product's WebSocket protocol the bench clients
use (join -> joined, publish offer -> answer, server subscribe offer ->
client answer, leave), so the same clients drive both modes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets

from aiohttp import WSMsgType, web
from aiortc import RTCBundlePolicy, RTCConfiguration, RTCPeerConnection, RTCRtpSender, RTCSessionDescription
from aiortc.contrib.media import MediaRelay

log = logging.getLogger(__name__)

WS_PATH = "/bench/relay/ws"


def _pc() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


class RelayRoom:
    """One publisher's decoded tracks, re-encoded for every subscriber."""

    def __init__(self) -> None:
        self.relay = MediaRelay()
        self.tracks: dict[str, object] = {}
        self.tracks_ready = asyncio.Event()
        self.pcs: set[RTCPeerConnection] = set()
        self.senders: list[RTCRtpSender] = []


class RelayRooms:
    def __init__(self) -> None:
        self.rooms: dict[str, RelayRoom] = {}
        self.tokens: dict[str, str] = {}

    def create_room(self) -> str:
        room_id = secrets.token_hex(8)
        self.rooms[room_id] = RelayRoom()
        return room_id

    def issue_token(self, room_id: str, role: str) -> str:
        token = secrets.token_urlsafe(16)
        self.tokens[token] = room_id
        return token

    async def stats(self) -> dict:
        """Packets the per-receiver aiortc senders sent (public getStats())."""
        packets = octets = 0
        senders = 0
        for room in self.rooms.values():
            for sender in list(room.senders):
                try:
                    report = await sender.getStats()
                except Exception:
                    continue
                senders += 1
                for s in report.values():
                    if s.type == "outbound-rtp":
                        packets += s.packetsSent
                        octets += s.bytesSent
        return {"forwarded_packets": packets, "forwarded_octets": octets, "consumers": senders}

    async def close_all(self) -> None:
        for room in self.rooms.values():
            await asyncio.gather(*(pc.close() for pc in list(room.pcs)), return_exceptions=True)


async def _session(rooms: RelayRooms, ws: web.WebSocketResponse) -> None:
    room: RelayRoom | None = None
    publish_pc: RTCPeerConnection | None = None
    subscribe_pc: RTCPeerConnection | None = None
    my_senders: list[RTCRtpSender] = []

    async def send(data: dict) -> None:
        await ws.send_str(json.dumps(data))

    async def subscribe() -> None:
        nonlocal subscribe_pc
        await room.tracks_ready.wait()
        subscribe_pc = _pc()
        room.pcs.add(subscribe_pc)
        for kind in ("audio", "video"):
            track = room.tracks.get(kind)
            if track is not None:
                sender = subscribe_pc.addTrack(room.relay.subscribe(track))
                my_senders.append(sender)
                room.senders.append(sender)
        await subscribe_pc.setLocalDescription(await subscribe_pc.createOffer())
        await send({"type": "offer", "pc": "subscribe", "sdp": subscribe_pc.localDescription.sdp, "tracks": []})

    tasks: list[asyncio.Task] = []
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            data = json.loads(msg.data)
            kind = data.get("type")
            if kind == "join":
                room_id = rooms.tokens.get(data.get("token", ""))
                room = rooms.rooms.get(room_id) if room_id else None
                if room is None:
                    await send({"type": "error", "code": "bad_token", "ref": data.get("id")})
                    continue
                await send({"type": "joined", "participant_id": secrets.token_hex(6), "room_id": room_id,
                            "ref": data.get("id")})
                if data.get("display_name") != "publisher":
                    tasks.append(asyncio.ensure_future(subscribe()))
            elif kind == "offer" and room is not None:
                publish_pc = _pc()
                room.pcs.add(publish_pc)

                @publish_pc.on("track")
                def on_track(track, room: RelayRoom = room) -> None:
                    room.tracks[track.kind] = track
                    if "audio" in room.tracks and "video" in room.tracks:
                        room.tracks_ready.set()

                await publish_pc.setRemoteDescription(RTCSessionDescription(sdp=data["sdp"], type="offer"))
                await publish_pc.setLocalDescription(await publish_pc.createAnswer())
                await send({"type": "answer", "pc": "publish", "sdp": publish_pc.localDescription.sdp,
                            "ref": data.get("id")})
            elif kind == "answer" and subscribe_pc is not None:
                await subscribe_pc.setRemoteDescription(RTCSessionDescription(sdp=data["sdp"], type="answer"))
            elif kind == "leave":
                await send({"type": "left", "ref": data.get("id")})
                break
    finally:
        for t in tasks:
            t.cancel()
        for pc in (publish_pc, subscribe_pc):
            if pc is not None and room is not None:
                room.pcs.discard(pc)
                await pc.close()
        if room is not None:
            for s in my_senders:
                if s in room.senders:
                    room.senders.remove(s)


def setup(app: web.Application) -> RelayRooms:
    rooms = RelayRooms()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=20.0)
        await ws.prepare(request)
        await _session(rooms, ws)
        return ws

    async def cleanup(app: web.Application) -> None:
        await rooms.close_all()

    app.router.add_get(WS_PATH, handler)
    app.on_shutdown.append(cleanup)
    return rooms
