"""WebSocket signalling: one socket per participant, JSON dataclass messages.

``setup(app, ice)`` registers ``/ws/room`` (and, with ``dev_pages``, the
``/dev/room`` demo page) and returns the :class:`RoomDirectory` the call
logic uses; it is also stored under :data:`ROOM_DIRECTORY`.
"""

from __future__ import annotations

import logging
from typing import Callable

from aiohttp import web

from ..sfu import IcePolicy, IceSettingsLike
from .rooms import Document, Grant, ParticipantEvent, RoomClosed, RoomDirectory
from .session import Session

log = logging.getLogger(__name__)

ROOM_DIRECTORY = web.AppKey("room_directory", RoomDirectory)
ICE_SERVERS = web.AppKey("ice_servers", Callable)
"""Optional: ``(host the browser reached us at) -> RTCIceServer dicts`` handed to
each participant in ``joined`` (the built-in relay's URLs and credentials)."""

#: WebSocket ping interval (aiohttp's default is no heartbeat at all)
HEARTBEAT_S = 20.0
MAX_MESSAGE = 256 * 1024

__all__ = ["ICE_SERVERS", "ROOM_DIRECTORY", "Document", "Grant", "ParticipantEvent", "RoomClosed", "RoomDirectory", "setup"]


async def room_socket(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_MESSAGE)
    await ws.prepare(request)
    servers = request.app.get(ICE_SERVERS)
    await Session(request.app[ROOM_DIRECTORY], ws, servers(request.url.host or "") if servers else []).run()
    return ws


def setup(app: web.Application, ice: IceSettingsLike, dev_pages: bool = False) -> RoomDirectory:
    """Register the room WebSocket; rooms are closed on shutdown."""
    directory = RoomDirectory(IcePolicy(ice))
    app[ROOM_DIRECTORY] = directory
    app.router.add_get("/ws/room", room_socket)

    async def close_rooms(app: web.Application) -> None:
        await directory.close_all("shutdown")

    async def rooms_ctx(app: web.Application):
        yield
        await directory.close_all("shutdown")

    app.on_shutdown.append(close_rooms)  # before aiohttp waits for open sockets
    app.cleanup_ctx.append(rooms_ctx)
    if dev_pages:
        from . import devpage

        devpage.setup(app)
    return directory
