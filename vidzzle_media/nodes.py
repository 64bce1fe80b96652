"""Nodes: ``serve`` processes that share one PostgreSQL store (issue 31).

Each process is a node, with an id of its own (new at every start: a node
that restarts has lost its rooms and sockets anyway) and the URL the other
nodes reach it at (``server.node_url``). Nodes talk through the store's
notifications (PostgreSQL LISTEN/NOTIFY; an SQLite file has one process,
which then only hears itself):

- ``node``: a node is alive, where it is and which agents are online on it
  (every ``HEARTBEAT_S``, and at once when that changes);
- ``gone``: a node stops;
- any other kind is handed to whoever subscribed to it (``on``): pushes to
  agents whose browser is on another node, what a call's home node must do;
- a question to one node (``ask``) and its ``answer``: what only a call's
  node knows, for a customer's page that reached another.

A node not heard from for ``EXPIRES_S`` is gone: it crashed, and its agents
are offline. Unless this node does not hear its own heartbeat either: then
it is the one cut off (``hearing``), and must not take the others for gone.
This module knows the store only as a ``Bus``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Protocol

log = logging.getLogger(__name__)

CHANNEL = "vidzzle_nodes"
HEARTBEAT_S = 2.0
EXPIRES_S = 7.0
"""Three heartbeats missed: the node is gone (its agents offline, its rooms unreachable)."""
DEAF_S = 7.0
"""This node has not heard even its own heartbeat for this long: it is cut off from the others (``hearing``)."""
MAX_PAYLOAD = 7900
"""PostgreSQL refuses a NOTIFY payload of 8,000 bytes or more."""
USERS_PER_MESSAGE = 300
"""Online agents per ``node`` message (a node with more sends several: ``part`` of ``parts``)."""


def home_node(room_id: str) -> str:
    """The node a room lives on: its id ends in it (``<random>.<node>``; "" for a room without)."""
    return room_id.rpartition(".")[2] if "." in room_id else ""


class Bus(Protocol):
    """What nodes need of the store (``store.Database`` has it)."""

    async def listen(self, channel: str, callback: Callable[[str], None]) -> None: ...
    async def notify(self, channel: str, payload: str) -> None: ...


@dataclass
class NodeState:
    """Another node, as last heard."""

    url: str
    users: dict[int, int | None] = field(default_factory=dict)
    """Agents online there: user id -> tenant id."""
    seen: float = 0.0
    """time.monotonic() of its last message."""
    coming: dict[int, int | None] = field(default_factory=dict)
    """The parts of a ``node`` message in several parts received so far."""


class Nodes:
    """This node, and the others it hears of."""

    def __init__(self, bus: Bus, url: Callable[[], str], node_id: str | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.bus = bus
        self.url = url
        """Where the other nodes reach this one (known once the port is bound)."""
        self.id = node_id or secrets.token_hex(4)
        self.clock = clock
        self.others: dict[str, NodeState] = {}
        self.local_users: Callable[[], dict[int, int | None]] = dict
        """Agents online on this node (set by presence)."""
        self._handlers: dict[str, list[Callable[[dict[str, Any]], Any]]] = {}
        self._answerers: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {}
        self._asked: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: set[asyncio.Future[Any]] = set()
        self._heartbeat: asyncio.Task[None] | None = None
        self._heard_self = clock()

    def on(self, kind: str, handler: Callable[[dict[str, Any]], Any]) -> None:
        """``handler(message)`` for each message of ``kind`` from another node (may be a coroutine function)."""
        self._handlers.setdefault(kind, []).append(handler)

    def answer(self, kind: str, handler: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]) -> None:
        """``handler(question)`` answers the questions of ``kind`` other nodes ``ask`` this one."""
        self._answerers[kind] = handler

    async def ask(self, node: str, kind: str, timeout: float = 10.0, **data: Any) -> dict[str, Any]:
        """Ask ``node`` (its ``answer`` handler for ``kind``) and wait for the
        answer; TimeoutError when none comes (the node is gone or stuck)."""
        ref = secrets.token_hex(8)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._asked[ref] = future
        try:
            await self.publish(kind, to=node, ref=ref, **data)
            return await asyncio.wait_for(future, timeout)
        finally:
            self._asked.pop(ref, None)

    async def _answer(self, question: dict[str, Any]) -> None:
        answer = await self._answerers[question["kind"]](question)
        await self.publish("answer", to=question["node"], ref=question.get("ref", ""), answer=answer)

    async def start(self) -> None:
        await self.bus.listen(CHANNEL, self._received)
        await self.announce()
        self._heartbeat = asyncio.ensure_future(self._beat())

    async def stop(self) -> None:
        """Tell the others at once (a crashed node is found by its silence instead)."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
            self._heartbeat = None
            await self.publish("gone")
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await self.announce()
            except Exception as exc:   # the store is away for a moment: try again next beat
                log.warning("node heartbeat failed: %r", exc)

    async def announce(self) -> None:
        """This node is alive: its URL and its online agents (in parts of ``USERS_PER_MESSAGE``)."""
        users = [[uid, tenant] for uid, tenant in self.local_users().items()]
        parts = max(1, -(-len(users) // USERS_PER_MESSAGE))
        for part in range(parts):
            await self.publish("node", url=self.url(), part=part, parts=parts,
                               users=users[part * USERS_PER_MESSAGE:(part + 1) * USERS_PER_MESSAGE])

    def changed(self) -> None:
        """Agents came or went here: tell the others now, not at the next beat."""
        if self._heartbeat is not None:
            self._track(self.announce())

    async def publish(self, kind: str, **data: Any) -> None:
        """Send to every other node."""
        payload = json.dumps({"kind": kind, "node": self.id, **data}, separators=(",", ":"))
        if len(payload.encode()) > MAX_PAYLOAD:
            log.error("a %s message for the other nodes is too large (%d bytes): not sent", kind, len(payload))
            return
        await self.bus.notify(CHANNEL, payload)

    def _received(self, payload: str) -> None:
        try:
            self._handle(json.loads(payload))
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("unreadable message from another node: %.80r", payload)

    def _handle(self, message: dict[str, Any]) -> None:
        kind, node = message["kind"], message["node"]
        if node == self.id:
            self._heard_self = self.clock()
            return
        if message.get("to", self.id) != self.id:
            return
        if kind == "gone":
            if self.others.pop(node, None) is not None:
                log.info("node %s stopped", node)
            return
        state = self.others.get(node)
        if state is None:
            state = self.others[node] = NodeState(url=str(message.get("url", "")))
            log.info("node %s at %s joined", node, state.url)
            self.changed()      # the newcomer hears of this node now, not at its next beat
        state.seen = self.clock()
        if kind == "node":
            state.url = str(message.get("url", state.url))
            if message.get("part", 0) == 0:
                state.coming = {}
            state.coming.update({int(uid): tenant for uid, tenant in message.get("users", [])})
            if message.get("part", 0) + 1 >= message.get("parts", 1):
                state.users, state.coming = state.coming, {}
            return
        if kind == "answer":
            future = self._asked.get(str(message.get("ref")))
            if future is not None and not future.done():
                future.set_result(message.get("answer") or {})
            return
        if kind in self._answerers:
            self._track(self._answer(message))
            return
        for handler in self._handlers.get(kind, ()):
            result = handler(message)
            if inspect.isawaitable(result):
                self._track(result)

    def _track(self, awaitable: Any) -> None:
        task = asyncio.ensure_future(awaitable)
        self._tasks.add(task)

        def done(t: asyncio.Future[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                log.error("handling a message of another node failed: %r", t.exception())

        task.add_done_callback(done)

    def alive(self) -> dict[str, NodeState]:
        """The other nodes heard from within ``EXPIRES_S``; the rest are dropped (and said so once)."""
        now = self.clock()
        for node in [n for n, s in self.others.items() if now - s.seen > EXPIRES_S]:
            log.warning("node %s silent for %.0f s: taken as gone (its agents are offline)", node, EXPIRES_S)
            del self.others[node]
        return self.others

    def hearing(self) -> bool:
        """This node hears the store's notifications (its own heartbeat came
        back within ``DEAF_S``): the silence of another means it is gone."""
        return self.clock() - self._heard_self <= DEAF_S

    def remote_users(self) -> dict[int, int | None]:
        """Agents online on the other nodes: user id -> tenant id."""
        return {uid: tenant for state in self.alive().values() for uid, tenant in state.users.items()}

    def url_of(self, node: str) -> str | None:
        """Where another living node is (None: unknown or gone)."""
        state = self.alive().get(node)
        return state.url if state is not None else None
