"""The JSON messages of the room WebSocket, as dataclasses (docs/signalling.md).

Every message is a JSON object with a ``type``; client requests may carry an
``id`` that the server echoes as ``ref`` in its answer or error. Parsing is
strict (unknown type, missing or mistyped field -> :class:`ProtocolError`)
so the session can answer with an ``error`` message and go on.
"""

from __future__ import annotations

import json
import typing
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

MAX_SDP = 100_000
MAX_TEXT = 200


class ProtocolError(ValueError):
    """A message the server cannot act on; becomes an ``error`` reply."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


# --- client -> server -----------------------------------------------------------

@dataclass
class ClientMessage:
    """Base of client requests."""

    type: ClassVar[str] = ""
    id: str | None = field(default=None, kw_only=True)
    """Optional request id, echoed as ``ref``."""


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


CLIENT_MESSAGES: dict[str, type[ClientMessage]] = {
    m.type: m for m in (Join, Offer, Answer, Candidate, Mute, PresentationCommand, Leave)
}


def _check(cls: type, name: str, value: Any, hint: Any) -> Any:
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, getattr(__import__("types"), "UnionType")) else (hint,)
    for opt in options:
        if opt is type(None) and value is None:
            return None
        if opt is bool and isinstance(value, bool):
            return value
        if opt is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if opt is str and isinstance(value, str):
            limit = MAX_SDP if name == "sdp" else (MAX_SDP // 10 if name == "candidate" else MAX_TEXT)
            if len(value) > limit:
                raise ProtocolError("bad_message", f"{cls.type}.{name} too long")
            return value
    raise ProtocolError("bad_message", f"{cls.type}.{name} has the wrong type")


def parse_client_message(raw: str | bytes) -> ClientMessage:
    """One WebSocket text frame -> a client message dataclass (or ProtocolError)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError("bad_json", f"not JSON: {exc.__class__.__name__}") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", "a message is a JSON object")
    ref = data.get("id") if isinstance(data.get("id"), str) else None
    cls = CLIENT_MESSAGES.get(data.get("type")) if isinstance(data.get("type"), str) else None
    if cls is None:
        raise ProtocolError("unknown_type", f"unknown message type {str(data.get('type'))[:40]!r}", ref)
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    try:
        for f in fields(cls):
            if f.name in data:
                kwargs[f.name] = _check(cls, f.name, data[f.name], hints[f.name])
            elif f.default is f.default_factory is getattr(__import__("dataclasses"), "MISSING"):
                raise ProtocolError("bad_message", f"{cls.type}.{f.name} is missing")
    except ProtocolError as exc:
        exc.ref = ref
        raise
    return cls(**kwargs)


# --- server -> client ---------------------------------------------------------------

@dataclass
class ServerMessage:
    """Base of server messages; ``to_json`` adds the ``type``."""

    type: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["type"] = self.type
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict())


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
class RoomClosedMessage(ServerMessage):
    type: ClassVar[str] = "room_closed"
    reason: str


@dataclass
class Error(ServerMessage):
    """A request failed; the connection and the room go on."""

    type: ClassVar[str] = "error"
    code: str
    message: str
    ref: str | None = None
