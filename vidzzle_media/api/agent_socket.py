"""/ws/agent: the back office's WebSocket for presence, ringing and accepting.

Every back-office page opens it; while one is open the agent is online
(services/presence.py). Server -> agent messages: ``hello``, ``ringing``,
``taken`` (by another agent), ``customer_left``, ``withdrawn`` (escalated),
``accepted``, ``ended``, ``result``, ``error``. Agent -> server:
``{"type": "accept", "call_id"}``, ``{"type": "hangup", "call_id"}``,
``{"type": "ping"}``. Documented in docs/api.md.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from .. import keys
from ..admin.auth import require_user   # the back office session: the same login as the console page
from ..errors import AppError, Forbidden
from ..i18n import gettext

log = logging.getLogger(__name__)


def _same_origin(request: web.Request) -> bool:
    """Browsers send Origin on WebSockets; refuse other sites (cross-site hijacking)."""
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


async def agent_socket(request: web.Request) -> web.StreamResponse:
    if not _same_origin(request):
        raise Forbidden(gettext("Cross-site WebSocket refused."))
    user = await require_user(request)
    presence, calls = request.app[keys.PRESENCE], request.app[keys.CALLS]
    ws = web.WebSocketResponse(heartbeat=30, max_msg_size=64 * 1024)
    await ws.prepare(request)
    presence.add(user.id, user.tenant_id, ws)
    try:
        await ws.send_json({"type": "hello", "user_id": user.id, "name": user.name})
        await calls.agent_online(user.id, user.tenant_id)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            await _handle(ws, calls, user, msg.data)
    except ConnectionError as exc:
        # the browser left the page (navigation, closed tab): an ordinary end
        log.debug("agent socket of user %d closed while sending: %s", user.id, exc)
    finally:
        presence.remove(user.id, ws)
    return ws


async def _handle(ws: web.WebSocketResponse, calls, user, raw: str) -> None:
    try:
        data = json.loads(raw)
        kind, call_id = data.get("type"), str(data.get("call_id", ""))
    except (ValueError, AttributeError):
        await ws.send_json({"type": "error", "error": "messages are JSON objects"})
        return
    try:
        if kind == "ping":
            await ws.send_json({"type": "pong"})
        elif kind == "accept":
            result = await calls.accept(call_id, user)
            await ws.send_json({"type": "result", "of": "accept", "ok": True, "call_id": call_id,
                                "room_id": result.room_id, "room_token": result.room_token,
                                "agent_path": result.agent_path})
        elif kind == "hangup":
            await calls.hang_up(call_id, user)
            await ws.send_json({"type": "result", "of": "hangup", "ok": True, "call_id": call_id})
        else:
            await ws.send_json({"type": "error", "error": f"unknown message type {kind!r}"})
    except AppError as exc:
        await ws.send_json({"type": "result", "of": kind, "ok": False, "call_id": call_id, "error": exc.message,
                            "status": exc.status})
    except ConnectionError:
        raise   # the socket is gone: the caller ends quietly
    except Exception:   # never let one bad message kill the socket
        log.exception("agent socket: %s failed", kind)
        await ws.send_json({"type": "result", "of": kind, "ok": False, "call_id": call_id, "error": "internal error"})


def register(app: web.Application) -> None:
    app.router.add_get("/ws/agent", agent_socket)
