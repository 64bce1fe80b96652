"""The JSON messages of the room WebSocket, as dataclasses (docs/signalling.md).

Every message is a JSON object with a ``type``; client requests may carry an
``id`` that the server echoes as ``ref`` in its answer or error. Parsing is
strict (unknown type, missing or mistyped field -> :class:`ProtocolError`)
so the session can answer with an ``error`` message and go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from ..protocol import ClientMessage, ServerMessage, parse_message
from ..protocol import Error as Error  # noqa: I001 - re-exported: the session says m.Error, m.ProtocolError
from ..protocol import ProtocolError as ProtocolError

# --- client -> server -----------------------------------------------------------

@dataclass
class Join(ClientMessage):
    """First message: enter the room the token grants."""

    type: ClassVar[str] = "join"
    token: str
    """Server-issued token (one room, one role)."""
    display_name: str = ""
    """Name shown to others when the token carries none."""


@dataclass
class Offer(ClientMessage):
    """The client's offer on its publish PC (only the client offers there)."""

    type: ClassVar[str] = "offer"
    pc: str
    """Always ``publish``."""
    sdp: str
    """Offer SDP."""


@dataclass
class Answer(ClientMessage):
    """The client's answer to the server's subscribe offer."""

    type: ClassVar[str] = "answer"
    pc: str
    """Always ``subscribe``."""
    sdp: str
    """Answer SDP."""


@dataclass
class Candidate(ClientMessage):
    """A trickled ICE candidate of one of the client's PCs ("" = end)."""

    type: ClassVar[str] = "candidate"
    pc: str
    """``publish`` or ``subscribe``."""
    candidate: str
    """``candidate:...`` line as in RTCIceCandidate.candidate."""
    sdp_mid: str | None = None
    """RTCIceCandidate.sdpMid."""
    sdp_mline_index: int | None = None
    """RTCIceCandidate.sdpMLineIndex."""


@dataclass
class Mute(ClientMessage):
    """The client muted/unmuted its microphone or camera."""

    type: ClassVar[str] = "mute"
    kind: str
    """``audio`` or ``video``."""
    muted: bool
    """New state."""


@dataclass
class PresentationCommand(ClientMessage):
    """Page through or switch the presentation (role ``agent`` only)."""

    type: ClassVar[str] = "presentation"
    command: str
    """``next``, ``previous``, ``goto`` or ``switch``."""
    page: int | None = None
    """1-based page for ``goto``."""
    document_id: str | None = None
    """Document for ``switch``."""


@dataclass
class Leave(ClientMessage):
    """Leave the room; the server closes the socket after ``left``."""

    type: ClassVar[str] = "leave"


@dataclass
class Ping(ClientMessage):
    """Is my path to the server alive? Sent when inbound media stalls: no
    ``pong`` soon means this client's own network changed, so it re-joins."""

    type: ClassVar[str] = "ping"


CLIENT_MESSAGES: dict[str, type[ClientMessage]] = {
    m.type: m for m in (Join, Offer, Answer, Candidate, Mute, PresentationCommand, Leave, Ping)
}


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """One WebSocket text frame -> a room client message dataclass (or ProtocolError)."""
    return parse_message(raw, CLIENT_MESSAGES)


# --- server -> client ---------------------------------------------------------------

@dataclass
class Joined(ServerMessage):
    """Answer to ``join``: who you are and who is here."""

    type: ClassVar[str] = "joined"
    participant_id: str
    room_id: str
    role: str
    display_name: str
    participants: list[dict]
    """Others: participant_id, display_name, role, muted."""
    presentation: dict | None
    """Current presentation state or None."""
    documents: list[dict]
    """id + title of each document (for ``switch``)."""
    ref: str | None = None
    ice_servers: list[dict] = field(default_factory=list)
    """RTCIceServer dicts for this participant's connections (the built-in relay; empty without it)."""


@dataclass
class ServerAnswer(ServerMessage):
    """The server's answer on the publish PC."""

    type: ClassVar[str] = "answer"
    pc: str
    sdp: str
    ref: str | None = None


@dataclass
class ServerOffer(ServerMessage):
    """The server's offer on the subscribe PC; ``tracks`` maps mids to people."""

    type: ClassVar[str] = "offer"
    pc: str
    sdp: str
    tracks: list[dict]


@dataclass
class ParticipantJoined(ServerMessage):
    type: ClassVar[str] = "participant_joined"
    participant_id: str
    display_name: str
    role: str


@dataclass
class ParticipantLeft(ServerMessage):
    type: ClassVar[str] = "participant_left"
    participant_id: str


@dataclass
class TrackAdded(ServerMessage):
    """A new m-line on the subscribe PC (sent before the offer carrying it)."""

    type: ClassVar[str] = "track_added"
    consumer_id: str
    producer_id: str
    participant_id: str | None
    kind: str
    mid: str | None
    source: str | None


@dataclass
class TrackRemoved(ServerMessage):
    type: ClassVar[str] = "track_removed"
    consumer_id: str
    mid: str | None


@dataclass
class MuteState(ServerMessage):
    type: ClassVar[str] = "mute"
    participant_id: str
    kind: str
    muted: bool


@dataclass
class PresentationStateMessage(ServerMessage):
    type: ClassVar[str] = "presentation_state"
    document_id: str
    title: str
    page: int
    page_count: int


@dataclass
class Left(ServerMessage):
    type: ClassVar[str] = "left"
    ref: str | None = None


@dataclass
class Pong(ServerMessage):
    type: ClassVar[str] = "pong"
    ref: str | None = None
    receiving: bool | None = None
    """Whether the server got media from this client in the last second
    (None: it publishes nothing). False: the client's media path is broken
    although its socket works, so it re-joins."""


@dataclass
class RoomClosedMessage(ServerMessage):
    type: ClassVar[str] = "room_closed"
    reason: str


@dataclass
class Rejoin(ServerMessage):
    """The room's media moved (``worker_lost``): join again with the same
    token, on a new socket with new peer connections. The server then
    closes this socket."""

    type: ClassVar[str] = "rejoin"
    reason: str


