"""RoomDirectory: the Python API the call logic uses to run rooms.

Create a room (with its presentation documents), issue tokens scoped to one
room and one role, close it; listen to who joins and leaves.

With several nodes (``vidzzle_media.nodes``) a room lives on the node that
created it, and its id ends in that node's id (``<random>.<node>``). A
token is a signed grant (HMAC-SHA256 with a key all nodes share), so any
node can issue one for a room on another, and any node can tell where a
token's room is: a browser that reached another node is forwarded there
(``signalling.forward``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Sequence

from pyee.asyncio import AsyncIOEventEmitter

from ..nodes import home_node
from ..sfu import IcePolicy
from ..sfu.host import LocalHost
from ..sfu.presentation import Document
from ..sfu.stats import ForwardingTotals
from ..values import RoomRole

if TYPE_CHECKING:
    from .session import Session

log = logging.getLogger(__name__)

ROLES = tuple(RoomRole)
MAX_MOVES = 2
"""A room whose media died this often is closed instead of moved again: a
room that crashes every worker it lands on must not take the others' calls
with it, one worker after the next."""


@dataclass(frozen=True)
class Grant:
    """What a token allows: one room, one role, a display name."""

    room_id: str
    """The only room this token opens."""
    role: str
    """``agent``, ``customer`` or ``invitee``."""
    display_name: str
    """Name shown to the others."""

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")


@dataclass(frozen=True)
class ParticipantEvent:
    """Payload of ``participant_joined`` / ``participant_left``."""

    room_id: str
    """Room joined or left."""
    participant_id: str
    """SFU participant id (unique per join)."""
    role: str
    """Role of the token used."""
    display_name: str
    """Name shown in the call."""


@dataclass(frozen=True)
class RoomClosed:
    """Payload of ``room_closed``."""

    room_id: str
    """The closed room."""
    reason: str
    """Why (e.g. ``ended``, ``shutdown``), also sent to every client."""


@dataclass(frozen=True)
class RoomMoved:
    """Payload of ``room_moved``: the room's media died under it (its worker
    is gone) and runs again on another; its id, tokens and presentation page
    stay, and its clients were told to join again."""

    room_id: str
    """The moved room."""
    reason: str
    """Why (``worker_lost``), also sent to every client."""
    participants: int
    """Connections that were in it (and were asked to join again)."""


class MediaHost(Protocol):
    """Where rooms run: this process (``sfu.host.LocalHost``) or media
    workers (``workers.pool.WorkerPool``, whose proxies have the same
    interface as the sfu's Room, Participant and Presentation)."""

    def on(self, event: str, f: Any) -> Any:
        """Event ``room_lost`` (room_id): its room died with its worker."""

    async def start(self) -> None:
        """Start what the host runs of its own (before the first room)."""

    async def create_room(self, documents: Sequence[Document], app_data: dict[str, Any],
                          room_id: str | None = None) -> tuple[Any, Any]:
        """(room, presentation or None)"""

    def totals(self) -> ForwardingTotals:
        """Forwarded so far, for /metrics."""

    def dropped(self) -> dict[str, int]:
        """Datagrams the media ports dropped unread so far, by reason."""

    def loads(self) -> list[tuple[int, Any]]:
        """(number, last ``workers.messages.Status``) per media worker; empty in-process."""

    async def close(self) -> None:
        """Stop what the host runs of its own (after the rooms are closed)."""


@dataclass
class RoomEntry:
    """A live room: the SFU room, its presentation, tokens and sessions."""

    room: Any
    """The SFU room (``sfu.Room``, or its proxy in a media worker)."""
    documents: list[Document]
    """Presentation documents (may be empty)."""
    presentation: Any = None
    """Running presentation (``sfu.presentation.Presentation`` or its proxy; None without documents)."""
    app_data: dict[str, Any] = field(default_factory=dict)
    """What the room was created with (given again when it moves)."""
    moves: int = 0
    """How often its media died under it and it was moved (see ``MAX_MOVES``)."""
    budgets: dict[str, Any] = field(default_factory=dict)
    """Token -> its signalling message budget (session.MessageBudget), kept across reconnects."""
    sessions: dict[str, Session] = field(default_factory=dict)
    """participant_id -> live WebSocket session."""
    by_token: dict[str, Session] = field(default_factory=dict)
    """token -> the session currently using it (a rejoin replaces it)."""


@dataclass(frozen=True)
class DirectoryStats:
    rooms: int
    """Open rooms."""
    participants: int
    """Connected participant sessions."""
    packets: int
    """RTP packets forwarded since start (retransmissions included)."""
    bytes: int
    """RTP payload bytes forwarded since start (first transmissions)."""
    retransmits: int
    """RTP packets sent again since start, in answer to receivers' NACKs (downstream loss)."""
    dropped: dict[str, int]
    """Datagrams to media ports dropped unread since start, by reason."""
    workers: list[tuple[int, Any]]
    """(number, last report) per media worker (none: the media runs in this process)."""


class RoomDirectory(AsyncIOEventEmitter):
    """All rooms of the process.

    Events (payload dataclasses above): ``participant_joined``
    (ParticipantEvent), ``participant_left`` (ParticipantEvent),
    ``room_closed`` (RoomClosed), ``room_moved`` (RoomMoved).
    """

    def __init__(self, ice: IcePolicy, video_codec: str = "VP8", media: MediaHost | None = None,
                 node: str = "") -> None:
        super().__init__()
        self.ice = ice
        self.video_codec = video_codec
        self.media: MediaHost = media or LocalHost(ice, video_codec)
        self.media.on("room_lost", self._room_lost)
        self.rooms: dict[str, RoomEntry] = {}
        self.node = node
        """This node's id, the end of its rooms' ids."""
        self.token_key = secrets.token_bytes(32)
        """Signs the tokens; the composition root gives every node of a shared store the same."""
        self.on("error", lambda exc: log.error("room directory listener failed: %r", exc))

    async def start(self) -> None:
        await self.media.start()

    def _room_lost(self, room_id: str) -> None:
        """Its worker died: the room moves to another (``move_room``)."""
        task = asyncio.ensure_future(self.move_room(room_id, "worker_lost"))

        def done(t: asyncio.Task[None]) -> None:
            if not t.cancelled() and t.exception() is not None:
                log.error("moving a lost room failed: %r", t.exception())

        task.add_done_callback(done)

    async def move_room(self, room_id: str, reason: str) -> None:
        """The room's media died: the room gets new media (same id, tokens,
        documents and presentation page), and every client is told to join
        again (``rejoin``, their pages do it by themselves); the call goes
        on and its record says it was interrupted (``room_moved``). A room
        that cannot get new media, or has moved ``MAX_MOVES`` times, closes
        with ``reason`` instead."""
        entry = self.rooms.get(room_id)
        if entry is None:
            return
        old_room, old_presentation = entry.room, entry.presentation
        if entry.moves >= MAX_MOVES:
            log.error("room %s lost its media %d times: closing it", room_id[:8], entry.moves + 1)
            return await self.close_room(room_id, reason)
        try:
            room, presentation = await self.media.create_room(entry.documents, entry.app_data, room_id=room_id)
        except Exception as exc:
            log.error("room %s lost its media and none could be started again: %r", room_id[:8], exc)
            return await self.close_room(room_id, reason)
        if self.rooms.get(room_id) is not entry:    # closed meanwhile (the call ended)
            await room.close()
            return
        if presentation is not None and old_presentation is not None:
            await _restore(presentation, old_presentation.state)
        entry.room, entry.presentation, entry.moves = room, presentation, entry.moves + 1
        sessions = list(entry.sessions.values())
        await asyncio.gather(*(s.close_for_rejoin(reason) for s in sessions), return_exceptions=True)
        await old_room.close()
        log.warning("room %s moved (%s): %d connections asked to join again", room_id[:8], reason, len(sessions))
        self.emit("room_moved", RoomMoved(room_id, reason, len(sessions)))

    async def create_room(self, documents: list[Document] | None = None, **app_data: Any) -> str:
        """A new room; with documents, their first page is shown as a video."""
        room_id = f"{secrets.token_hex(16)}.{self.node}" if self.node else None
        room, presentation = await self.media.create_room(list(documents or []), app_data, room_id=room_id)
        entry = RoomEntry(room=room, documents=list(documents or []), presentation=presentation, app_data=app_data)
        self.rooms[room.id] = entry
        log.info("room %s created (%d documents)", room.id[:8], len(entry.documents))
        return room.id

    def issue_token(self, room_id: str, role: str, display_name: str) -> str:
        """A bearer token for one room and one role: the grant, signed.

        Usable again while the room lives (reconnects); a second join with
        the same token replaces the first connection. KeyError for a room of
        this node that does not exist (one on another node is its to check).
        """
        if home_node(room_id) == self.node and room_id not in self.rooms:
            raise KeyError(f"no room {room_id!r}")
        # a nonce: each token is one connection's (a join replaces the one with its token)
        grant = [room_id, role, display_name, secrets.token_urlsafe(12)]
        body = _b64(json.dumps(grant, separators=(",", ":")).encode())
        return f"{body}.{_b64(self._sign(body))}"

    def _sign(self, body: str) -> bytes:
        return hmac.new(self.token_key, body.encode(), hashlib.sha256).digest()

    def grant(self, token: str) -> Grant | None:
        """The grant of a token this install signed (its room may be gone, or on another node)."""
        body, _, signature = token.partition(".")
        try:
            if not hmac.compare_digest(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)),
                                       self._sign(body)):
                return None
            room_id, role, name, _nonce = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
            return Grant(str(room_id), str(role), str(name))
        except (ValueError, TypeError):     # not base64, not JSON, not four values, not a role
            return None

    def elsewhere(self, token: str) -> str | None:
        """The node whose room the token opens, when that is another node."""
        grant = self.grant(token)
        node = home_node(grant.room_id) if grant is not None else ""
        return node if node and node != self.node else None

    def entry(self, room_id: str) -> RoomEntry | None:
        return self.rooms.get(room_id)

    async def close_room(self, room_id: str, reason: str = "ended") -> None:
        """Tell every client, close their sockets, the room and its presentation."""
        entry = self.rooms.pop(room_id, None)
        if entry is None:
            return
        await asyncio.gather(*(s.close_for_room(reason) for s in list(entry.sessions.values())),
                             return_exceptions=True)
        if entry.presentation is not None:
            await entry.presentation.close()
        await entry.room.close()
        log.info("room %s closed: %s", room_id[:8], reason)
        self.emit("room_closed", RoomClosed(room_id, reason))

    def media_arriving(self, room_id: str, role: str, within_s: float = 2.0) -> bool:
        """A participant of ``role`` in the room publishes and its media reached
        the SFU within the last ``within_s`` (ICE, DTLS and SRTP all work)."""
        entry = self.rooms.get(room_id)
        if entry is None:
            return False
        return any(session.grant is not None and session.grant.role == role and session.participant is not None
                   and session.participant.receiving(within_s) is True for session in entry.sessions.values())

    def stats(self) -> DirectoryStats:
        """What /metrics shows of the media side."""
        forwarded = self.media.totals()
        return DirectoryStats(rooms=len(self.rooms),
                              participants=sum(len(e.sessions) for e in self.rooms.values()),
                              packets=forwarded.packets + forwarded.retransmits, bytes=forwarded.bytes,
                              retransmits=forwarded.retransmits, dropped=self.media.dropped(),
                              workers=self.media.loads())

    async def close_all(self, reason: str = "shutdown") -> None:
        await asyncio.gather(*(self.close_room(r, reason) for r in list(self.rooms)), return_exceptions=True)
        await self.media.close()

    # called by sessions
    def _joined(self, entry: RoomEntry, event: ParticipantEvent) -> None:
        self.emit("participant_joined", event)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def _restore(presentation: Any, state: Any) -> None:
    """Show what was shown before the move (a document that is gone stays on the first)."""
    try:
        if presentation.state.document_id != state.document_id:
            await presentation.switch(state.document_id)
        if state.page != 1:
            await presentation.goto(state.page)
    except Exception as exc:
        log.warning("presentation not restored after a move: %r", exc)
