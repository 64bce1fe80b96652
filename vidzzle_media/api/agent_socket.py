"""/ws/agent: the back office's WebSocket for presence, ringing and accepting.

Every back-office page opens it; while one is open the agent is online
(services/calls/presence.py). The messages are the dataclasses of
services/calls/agent_messages.py, parsed strictly like the room socket's;
docs/api.md lists them.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from aiohttp import WSMsgType, web

from .. import keys
from ..admin.auth import require_user  # the back office session: the same login as the console page
from ..errors import AppError, Forbidden
from ..i18n import gettext
from ..protocol import Error, ProtocolError, ServerMessage
from ..services.calls import agent_messages as am
from ..services.calls.agent_messages import parse_agent_message

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
        await ws.send_json(am.Hello(user.id, user.name).to_dict())
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
    """One agent message -> its answer; a bad one gets an ``error`` (as on the room socket)."""
    try:
        message = parse_agent_message(raw)
    except ProtocolError as exc:
        await ws.send_json(Error(exc.code, exc.message, exc.ref).to_dict())
        return
    call_id = getattr(message, "call_id", "")
    try:
        if isinstance(message, am.Ping):
            answer: ServerMessage = am.Pong()
        elif isinstance(message, am.Accept):
            result = await calls.accept(call_id, user)
            answer = am.Result("accept", True, call_id, room_id=result.room_id, room_token=result.room_token,
                               agent_path=result.agent_path)
        elif isinstance(message, am.Decline):
            await calls.decline(call_id, user)
            answer = am.Result("decline", True, call_id)
        else:
            await calls.hang_up(call_id, user)
            answer = am.Result("hangup", True, call_id)
    except AppError as exc:
        answer = am.Result(message.type, False, call_id, error=exc.message, status=exc.status)
    except ConnectionError:
        raise   # the socket is gone: the caller ends quietly
    except Exception:   # never let one bad message kill the socket
        log.exception("agent socket: %s failed", message.type)
        answer = am.Result(message.type, False, call_id, error="internal error", status=500)
    await ws.send_json(answer.to_dict())


def register(app: web.Application) -> None:
    app.router.add_get("/ws/agent", agent_socket)
