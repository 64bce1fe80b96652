"""The messages between the main process and a media worker.

One frozen dataclass per message, one JSON object per line on the wire
(``{"m": "Publish", ...fields}``): readable in a trace, no pickle between
processes, and an unknown or malformed line is an error, not code.

Requests from the main process that expect an answer carry ``ref`` (> 0);
the worker answers each with one :class:`Reply` of the same ``ref``. The
rest are notices, applied in the order they were sent.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

# --- main process -> worker ---------------------------------------------------------------

@dataclass(frozen=True)
class Configure:
    """The first message: what the worker's SFU needs of the settings."""

    ice: dict[str, Any]
    """The ``ice`` settings (``config.IceSettings`` as a dict)."""
    video_codec: str
    core: str
    """The forwarding core (``media.core``)."""


@dataclass(frozen=True)
class CreateRoom:
    ref: int
    room_id: str
    documents: list[dict[str, str]]
    """Each ``signalling.rooms.Document`` as a dict."""
    app_data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CloseRoom:
    ref: int
    room_id: str


@dataclass(frozen=True)
class AddParticipant:
    """A notice: the main process made up the id and goes on at once."""

    room_id: str
    participant_id: str
    display_name: str
    app_data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RemoveParticipant:
    ref: int
    participant_id: str


@dataclass(frozen=True)
class Publish:
    ref: int
    participant_id: str
    sdp: str


@dataclass(frozen=True)
class SubscribeAnswer:
    ref: int
    participant_id: str
    sdp: str


@dataclass(frozen=True)
class AddCandidate:
    ref: int
    participant_id: str
    pc: str
    candidate: str
    sdp_mid: str | None
    sdp_mline_index: int | None


@dataclass(frozen=True)
class SetMuted:
    participant_id: str
    kind: str
    muted: bool


@dataclass(frozen=True)
class Present:
    """A presentation command (``next``, ``previous``, ``goto``, ``switch``); the reply is the new state."""

    ref: int
    room_id: str
    command: str
    page: int | None = None
    document_id: str | None = None


# --- worker -> main process --------------------------------------------------------------

@dataclass(frozen=True)
class Reply:
    ref: int
    ok: bool
    value: Any = None
    error: str = ""
    """The failure's text (``ok`` false)."""
    kind: str = ""
    """``negotiation`` (NegotiationError), ``value`` (ValueError) or ``failed``."""


@dataclass(frozen=True)
class SubscribeOffer:
    """A participant's subscribe PC has a new offer (``Participant`` event ``subscribe_offer``)."""

    participant_id: str
    sdp: str
    tracks: list[dict[str, Any]]


@dataclass(frozen=True)
class MediaSeen:
    """When a participant's media last arrived; sent when it changes, a few times a second at most."""

    participant_id: str
    publishing: bool
    last_media_at: float | None
    """``time.monotonic()``: one clock for every process of the machine."""


@dataclass(frozen=True)
class ParticipantClosed:
    participant_id: str


@dataclass(frozen=True)
class Status:
    """The worker's load, once a second."""

    pid: int
    rooms: int
    participants: int
    packets: int
    """RTP packets forwarded (first transmissions), since the worker started."""
    bytes: int
    retransmits: int
    cpu_s: float
    """CPU time the worker used since it started (user + system)."""
    dropped: dict[str, int] = field(default_factory=dict)
    """Datagrams its media ports dropped unread, by reason (``aiortc_glue.DROPPED``)."""


MESSAGES: dict[str, type] = {cls.__name__: cls for cls in (
    Configure, CreateRoom, CloseRoom, AddParticipant, RemoveParticipant, Publish, SubscribeAnswer,
    AddCandidate, SetMuted, Present, Reply, SubscribeOffer, MediaSeen, ParticipantClosed, Status)}


class ChannelError(Exception):
    """A line on the channel that is not one of MESSAGES."""


def encode(message: Any) -> bytes:
    return json.dumps({"m": type(message).__name__, **asdict(message)}, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> Any:
    try:
        data = json.loads(line)
        cls = MESSAGES[data.pop("m")]
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ChannelError(f"bad message on the media channel: {line[:80]!r}") from exc
