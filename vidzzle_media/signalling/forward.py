"""A browser whose room lives on another node: its signalling is forwarded.

With several nodes a browser reaches whichever node the load balancer (or
its link) chose, and a call's room lives on the node its customer started
it on. The node the browser reached relays the room WebSocket to the
room's node, frame for frame, until either side closes; the room's node
runs the session as for any browser (the token is signed by a key all nodes
share). Only signalling takes this detour: the media goes straight to the
room's node, whose ICE candidates (and TURN relay) the browser is given.
So a load balancer needs no stickiness by room.

Nodes reach each other at ``server.node_url``, on their own network; TLS
there is not verified (nodes usually serve a self-signed certificate), the
token is what the room's node checks.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp import WSMsgType, web

from . import messages as m

log = logging.getLogger(__name__)


def socket_url(node_url: str) -> str:
    """The room WebSocket of the node at ``node_url``."""
    base = node_url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base[len("https://"):] + "/ws/room"
    return "ws://" + base.removeprefix("http://") + "/ws/room"


async def forward(ws: web.WebSocketResponse, first: str, node_url: str | None, client: aiohttp.ClientSession,
                  *, heartbeat: float, max_message: int, ref: str | None = None) -> None:
    """Relay ``ws`` (whose first frame was ``first``, a ``join`` with id ``ref``) to the room's node."""
    if node_url is None:
        await ws.send_json(m.Error("room_unreachable", "the server holding this call is not running", ref).to_dict())
        await ws.close()
        return
    try:
        upstream = await client.ws_connect(socket_url(node_url), ssl=False, heartbeat=heartbeat,
                                           max_msg_size=max_message)
    except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
        log.warning("cannot reach node %s for a room: %r", node_url, exc)
        await ws.send_json(m.Error("room_unreachable", "the server holding this call cannot be reached", ref).to_dict())
        await ws.close()
        return
    async with upstream:
        await upstream.send_str(first)
        pumps = [asyncio.ensure_future(_pump(ws, upstream)), asyncio.ensure_future(_pump(upstream, ws))]
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await asyncio.gather(*pumps, return_exceptions=True)
    if not ws.closed:
        await ws.close()


async def _pump(source, sink) -> None:
    """Text frames from ``source`` to ``sink`` until ``source`` closes (other frames are not part of the protocol)."""
    async for msg in source:
        if msg.type == WSMsgType.TEXT:
            await sink.send_str(msg.data)
        elif msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.ERROR):
            break
