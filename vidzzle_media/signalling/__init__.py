"""WebSocket signalling: one socket per participant, JSON dataclass messages.

``setup(app, directory)`` registers ``/ws/room`` for a :class:`RoomDirectory`
(and, with ``dev_pages``, the ``/dev/room`` demo page).
"""

from __future__ import annotations

import logging
from typing import Callable

import aiohttp
from aiohttp import WSMsgType, web

from . import messages as m
from .forward import forward
from .rooms import Document, Grant, ParticipantEvent, RoomClosed, RoomDirectory
from .session import Session

log = logging.getLogger(__name__)

IceServers = Callable[[str], list]
"""``(host the browser reached us at) -> RTCIceServer dicts`` handed to each
participant in ``joined`` (the built-in relay's URLs and credentials)."""

#: WebSocket ping interval (aiohttp's default is no heartbeat at all)
HEARTBEAT_S = 20.0
MAX_MESSAGE = 256 * 1024

__all__ = ["Document", "Grant", "IceServers", "ParticipantEvent", "RoomClosed", "RoomDirectory", "setup"]


def setup(app: web.Application, directory: RoomDirectory, *, ice_servers: IceServers | None = None,
          dev_pages: bool = False, locate: Callable[[str], str | None] | None = None) -> None:
    """Register the room WebSocket for ``directory`` (built by the composition
    root); its rooms are closed on shutdown. ``locate(node id)``: where
    another node is, for browsers whose room lives there (signalling/forward.py)."""
    client: list[aiohttp.ClientSession] = []

    async def room_socket(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT_S, max_msg_size=MAX_MESSAGE)
        await ws.prepare(request)
        first = await ws.receive()
        if first.type != WSMsgType.TEXT:
            return ws       # closed before a word
        join = _join_elsewhere(directory, first.data) if locate is not None else None
        if join is not None and locate is not None:
            node, ref = join
            if not client:
                client.append(aiohttp.ClientSession())
            await forward(ws, first.data, locate(node), client[0], heartbeat=HEARTBEAT_S, max_message=MAX_MESSAGE,
                          ref=ref)
            return ws
        await Session(directory, ws, ice_servers(request.url.host or "") if ice_servers else []).run(first.data)
        return ws

    app.router.add_get("/ws/room", room_socket)

    async def close_rooms(app: web.Application) -> None:
        await directory.close_all("shutdown")

    async def rooms_ctx(app: web.Application):
        await directory.start()
        yield
        await directory.close_all("shutdown")
        for session in client:
            await session.close()

    app.on_shutdown.append(close_rooms)  # before aiohttp waits for open sockets
    app.cleanup_ctx.append(rooms_ctx)
    if dev_pages:
        from . import devpage

        devpage.setup(app, directory)


def _join_elsewhere(directory: RoomDirectory, text: str) -> tuple[str, str | None] | None:
    """(the node to forward to, the join's id), when ``text`` joins a room on another node."""
    try:
        message = m.parse_client_message(text)
    except m.ProtocolError:
        return None         # the session answers it
    node = directory.elsewhere(message.token) if isinstance(message, m.Join) else None
    return (node, message.id) if node is not None else None
