"""Agents online in the back office and pushes to them.

An agent is online while at least one back-office page holds the WebSocket
at /ws/agent (api/agent_socket.py). Pushes (ringing, "taken by <name>",
"customer left") go to every open socket of every addressed user at once.
``online_user_ids(tenant_id)`` feeds the dashboard's "users logged in" tile.

With several nodes (``vidzzle_media.nodes``) an agent's browser may hold its
socket on any of them: each node keeps its own sockets, hears which agents
are online on the others, and hands pushes for those to them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Iterable, Protocol

from ...protocol import ServerMessage

log = logging.getLogger(__name__)


class AgentSocket(Protocol):
    """What presence needs of an agent's WebSocket (aiohttp's WebSocketResponse is one)."""

    @property
    def closed(self) -> bool: ...
    async def send_json(self, data: Any) -> None: ...
    async def close(self, *, code: int = ..., message: bytes = ...) -> bool: ...


class Nodes(Protocol):
    """The other nodes, as presence needs them (``vidzzle_media.nodes.Nodes`` is one)."""

    id: str
    local_users: Callable[[], dict[int, int | None]]

    def alive(self) -> dict[str, Any]: ...
    def hearing(self) -> bool: ...
    def remote_users(self) -> dict[int, int | None]: ...
    def changed(self) -> None: ...
    def on(self, kind: str, handler: Callable[[dict[str, Any]], Any]) -> None: ...
    async def publish(self, kind: str, **data: Any) -> None: ...
    def answer(self, kind: str, handler: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]) -> None: ...
    async def ask(self, node: str, kind: str, timeout: float = ..., **data: Any) -> dict[str, Any]: ...


class Presence:
    """user id -> open sockets, plus each user's tenant; and the users online on other nodes."""

    def __init__(self, nodes: Nodes | None = None) -> None:
        self._sockets: dict[int, set[AgentSocket]] = {}
        self._tenant: dict[int, int | None] = {}
        self.nodes = nodes
        if nodes is not None:
            nodes.local_users = lambda: dict(self._tenant)
            nodes.on("push", self._pushed_here)

    def add(self, user_id: int, tenant_id: int | None, ws: AgentSocket) -> bool:
        """Register a socket; True when the user just came online."""
        sockets = self._sockets.setdefault(user_id, set())
        first = not sockets
        sockets.add(ws)
        self._tenant[user_id] = tenant_id
        if first and self.nodes is not None:
            self.nodes.changed()
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
        if self.nodes is not None:
            self.nodes.changed()
        return True

    def _remote(self) -> dict[int, int | None]:
        return self.nodes.remote_users() if self.nodes is not None else {}

    def is_online(self, user_id: int) -> bool:
        """An open back-office socket on this node or another."""
        return bool(self._sockets.get(user_id)) or user_id in self._remote()

    def online_user_ids(self, tenant_id: int | None) -> set[int]:
        """Users of the tenant with an open back-office socket on any node (None: all users)."""
        everyone = {**self._remote(), **self._tenant}
        return {uid for uid, t in everyone.items() if tenant_id is None or t == tenant_id}

    async def push(self, user_ids: Iterable[int], message: ServerMessage) -> int:
        """Send ``message`` (services/calls/agent_messages.py) to all sockets of the
        users concurrently, here and, for users online on other nodes, there;
        returns the sockets reached here."""
        users = set(user_ids)
        data = message.to_dict()
        remote = sorted(users & self._remote().keys())
        if remote and self.nodes is not None:
            await self.nodes.publish("push", users=remote, message=data)
        return await self._deliver(users, data)

    async def _pushed_here(self, message: dict[str, Any]) -> None:
        """Another node's push for users whose sockets may be here."""
        await self._deliver({int(uid) for uid in message.get("users", ())}, message.get("message") or {})

    async def _deliver(self, users: set[int], data: dict[str, Any]) -> int:
        targets = [ws for uid in users for ws in list(self._sockets.get(uid, ()))]
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

