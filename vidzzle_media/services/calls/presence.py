"""Agents online in the back office and pushes to them.

An agent is online while at least one back-office page holds the WebSocket
at /ws/agent (api/agent_socket.py). Pushes (ringing, "taken by <name>",
"customer left") go to every open socket of every addressed user at once.
``online_user_ids(tenant_id)`` feeds the dashboard's "users logged in" tile.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Iterable, Protocol

from ...protocol import ServerMessage

log = logging.getLogger(__name__)


class AgentSocket(Protocol):
    """What presence needs of an agent's WebSocket (aiohttp's WebSocketResponse is one)."""

    @property
    def closed(self) -> bool: ...
    async def send_json(self, data: Any) -> None: ...
    async def close(self, *, code: int = ..., message: bytes = ...) -> bool: ...


class Presence:
    """user id -> open sockets, plus each user's tenant."""

    def __init__(self) -> None:
        self._sockets: dict[int, set[AgentSocket]] = {}
        self._tenant: dict[int, int | None] = {}

    def add(self, user_id: int, tenant_id: int | None, ws: AgentSocket) -> bool:
        """Register a socket; True when the user just came online."""
        sockets = self._sockets.setdefault(user_id, set())
        first = not sockets
        sockets.add(ws)
        self._tenant[user_id] = tenant_id
        return first

    def remove(self, user_id: int, ws: AgentSocket) -> bool:
        """Drop a socket; True when the user just went offline."""
        sockets = self._sockets.get(user_id)
        if not sockets:
            return False
        sockets.discard(ws)
        if sockets:
            return False
        del self._sockets[user_id]
        self._tenant.pop(user_id, None)
        return True

    def is_online(self, user_id: int) -> bool:
        return bool(self._sockets.get(user_id))

    def online_user_ids(self, tenant_id: int | None) -> set[int]:
        """Users of the tenant with an open back-office socket (None: all users)."""
        return {uid for uid, t in self._tenant.items() if tenant_id is None or t == tenant_id}

    async def push(self, user_ids: Iterable[int], message: ServerMessage) -> int:
        """Send ``message`` (services/calls/agent_messages.py) to all sockets of the
        users concurrently; returns sockets reached."""
        targets = [ws for uid in set(user_ids) for ws in list(self._sockets.get(uid, ()))]
        data = message.to_dict()
        results = await asyncio.gather(*(self._send(ws, data) for ws in targets))
        return sum(results)

    async def _send(self, ws: AgentSocket, message: dict) -> bool:
        if ws.closed:
            return False
        try:
            await ws.send_json(message)
            return True
        except (ConnectionError, RuntimeError) as exc:
            log.debug("push to a closing socket failed: %s", exc)
            return False

    async def close_all(self) -> None:
        for sockets in list(self._sockets.values()):
            for ws in list(sockets):
                await ws.close(code=1001, message=b"server shutdown")
        self._sockets.clear()
        self._tenant.clear()

