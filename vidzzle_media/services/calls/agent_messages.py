"""The messages of the agents' WebSocket (/ws/agent: the back office's ring
toasts and accept buttons) as dataclasses, parsed and answered like the room
signalling's (vidzzle_media/protocol.py). docs/api.md lists them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ...protocol import ClientMessage, ServerMessage, parse_message

AGENT_CALL_PATH = "/admin/call/"
"""The back-office page of a call (+ its id): where ``accepted`` and a follow-up start send the agent."""

# --- agent -> server ------------------------------------------------------------------


@dataclass
class Ping(ClientMessage):
    """Keeps proxies from closing an idle socket; answered with ``pong``."""

    type: ClassVar[str] = "ping"


@dataclass
class Accept(ClientMessage):
    """Take a ringing call; answered with ``result`` (of ``accept``)."""

    type: ClassVar[str] = "accept"
    call_id: str


@dataclass
class Decline(ClientMessage):
    """Stop the call ringing for this agent; answered with ``result`` (of ``decline``)."""

    type: ClassVar[str] = "decline"
    call_id: str


@dataclass
class Hangup(ClientMessage):
    """End one's own call; answered with ``result`` (of ``hangup``)."""

    type: ClassVar[str] = "hangup"
    call_id: str


AGENT_CLIENT_MESSAGES: dict[str, type[ClientMessage]] = {m.type: m for m in (Ping, Accept, Decline, Hangup)}


def parse_agent_message(raw: str | bytes) -> ClientMessage:
    return parse_message(raw, AGENT_CLIENT_MESSAGES)


# --- server -> agent ------------------------------------------------------------------


@dataclass
class Hello(ServerMessage):
    """First message: the socket belongs to this user, who is online now."""

    type: ClassVar[str] = "hello"
    user_id: int
    name: str


@dataclass
class Pong(ServerMessage):
    type: ClassVar[str] = "pong"


@dataclass
class Ringing(ServerMessage):
    """A call rings this agent (the toast)."""

    type: ClassVar[str] = "ringing"
    call_id: str
    customer_name: str
    flow_name: str


@dataclass
class Withdrawn(ServerMessage):
    """The call stopped ringing here: ``reason`` "escalated" (missed), "declined" (by this agent) or
    "interrupted" (the server could not go on with it: its media worker died)."""

    type: ClassVar[str] = "withdrawn"
    call_id: str
    reason: str


@dataclass
class CustomerLeft(ServerMessage):
    type: ClassVar[str] = "customer_left"
    call_id: str


@dataclass
class Taken(ServerMessage):
    """Another agent accepted first."""

    type: ClassVar[str] = "taken"
    call_id: str
    by: str


@dataclass
class Accepted(ServerMessage):
    """This agent's accept won (also sent to the agent's other tabs)."""

    type: ClassVar[str] = "accepted"
    call_id: str
    agent_path: str


@dataclass
class Ended(ServerMessage):
    type: ClassVar[str] = "ended"
    call_id: str
    by: str


@dataclass
class Result(ServerMessage):
    """The answer to ``accept``, ``decline`` or ``hangup``: ok, or why not (``error`` in the
    agent's language, ``status`` as HTTP would say it)."""

    type: ClassVar[str] = "result"
    of: str
    ok: bool
    call_id: str
    room_id: str | None = None
    room_token: str | None = None
    agent_path: str | None = None
    error: str | None = None
    status: int | None = None
