"""The main process's view of a room in a media worker.

:class:`RoomProxy`, :class:`ParticipantProxy` and :class:`PresentationProxy`
have the interface the signalling uses of the sfu's Room, Participant and
Presentation, so a Session does not know where its room runs. What the
signalling reads synchronously (mute state, whether media arrives, the
presentation's state) is mirrored here from the worker's messages.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from pyee.asyncio import AsyncIOEventEmitter

from ..sfu import NegotiationError
from ..sfu.presentation import Document, PresentationState
from . import messages as m
from .channel import Channel, WorkerLost

log = logging.getLogger(__name__)


async def _call(channel: Channel, make: Any) -> Any:
    """A request; its failure raised here as the worker's exception was."""
    reply = await channel.request(make)
    if reply.ok:
        return reply.value
    if reply.kind == "negotiation":
        raise NegotiationError(reply.error)
    if reply.kind == "value":
        raise ValueError(reply.error)
    raise RuntimeError(reply.error)


class ParticipantProxy(AsyncIOEventEmitter):
    """Events: ``subscribe_offer`` (sdp, tracks), ``close`` ()."""

    def __init__(self, channel: Channel, room_id: str, display_name: str, app_data: dict[str, Any]) -> None:
        super().__init__()
        self.id = uuid.uuid4().hex[:12]
        self.room_id = room_id
        self.display_name = display_name
        self.app_data = app_data
        self.muted: dict[str, bool] = {"audio": False, "video": False}
        self.closed = False
        self.publishing = False
        self.last_media_at: float | None = None
        self._channel = channel
        self._offer_pending = False
        self.on("error", lambda exc: log.error("%r: %s", self, exc))

    def __repr__(self) -> str:
        return f"ParticipantProxy({self.id} {self.display_name!r})"

    async def publish(self, offer_sdp: str) -> str:
        return await _call(self._channel, lambda ref: m.Publish(ref, self.id, offer_sdp))

    def subscribe_answer(self, sdp: str) -> None:
        """Checked here as the Participant checks it (no answer without an offer), then passed on."""
        if not self._offer_pending:
            raise NegotiationError("no subscribe offer pending")
        self._offer_pending = False
        self._channel.send(m.SubscribeAnswer(0, self.id, sdp))

    async def add_ice_candidate(self, pc_name: str, candidate: str, sdp_mid: str | None,
                                sdp_mline_index: int | None) -> None:
        await _call(self._channel, lambda ref: m.AddCandidate(ref, self.id, pc_name, candidate, sdp_mid,
                                                              sdp_mline_index))

    def set_muted(self, kind: str, muted: bool) -> None:
        if kind not in self.muted:
            raise ValueError(f"bad kind {kind!r}")
        self.muted[kind] = bool(muted)
        self._channel.send(m.SetMuted(self.id, kind, bool(muted)))

    def receiving(self, within_s: float = 1.0) -> bool | None:
        """As ``Participant.receiving``, from the worker's last MediaSeen."""
        if not self.publishing:
            return None
        return self.last_media_at is not None and time.monotonic() - self.last_media_at < within_s

    async def close(self) -> None:
        try:
            if not self.closed and not self._channel.closed:
                await _call(self._channel, lambda ref: m.RemoveParticipant(ref, self.id))
        except WorkerLost:
            pass          # gone with its worker
        finally:
            self._closed()

    # from the worker
    def _offer(self, message: m.SubscribeOffer) -> None:
        self._offer_pending = True
        self.emit("subscribe_offer", message.sdp, message.tracks)

    def _seen(self, message: m.MediaSeen) -> None:
        self.publishing, self.last_media_at = message.publishing, message.last_media_at

    def _closed(self) -> None:
        if not self.closed:
            self.closed = True
            self.emit("close")
            self.remove_all_listeners()


class PresentationProxy:
    """The room's presentation in the worker; ``state`` is the last one it reported."""

    def __init__(self, channel: Channel, room_id: str, documents: list[Document], state: dict[str, Any]) -> None:
        self.documents = {d.id: d for d in documents}
        self.state = PresentationState(**state)
        self._channel = channel
        self._room_id = room_id

    async def _command(self, command: str, page: int | None = None, document_id: str | None = None) -> PresentationState:
        state = await _call(self._channel, lambda ref: m.Present(ref, self._room_id, command, page, document_id))
        self.state = PresentationState(**state)
        return self.state

    async def next(self) -> PresentationState:
        return await self._command("next")

    async def previous(self) -> PresentationState:
        return await self._command("previous")

    async def goto(self, page: int) -> PresentationState:
        return await self._command("goto", page=page)

    async def switch(self, document_id: str) -> PresentationState:
        return await self._command("switch", document_id=document_id)

    async def close(self) -> None:
        """The worker closes it with its room."""


class RoomProxy(AsyncIOEventEmitter):
    """A room in a media worker. Events: ``close`` ()."""

    def __init__(self, channel: Channel, room_id: str, index: dict[str, ParticipantProxy]) -> None:
        """``index``: the worker's participants by id (where its messages are delivered)."""
        super().__init__()
        self.id = room_id
        self.participants: dict[str, ParticipantProxy] = {}
        self._index = index
        self.closed = False
        self._channel = channel

    def __repr__(self) -> str:
        return f"RoomProxy({self.id[:8]})"

    def add_participant(self, display_name: str = "", app_data: dict[str, Any] | None = None) -> ParticipantProxy:
        """At once, as in the worker's Room: the worker applies it before anything the participant sends next."""
        if self.closed:
            raise RuntimeError("room closed")
        participant = ParticipantProxy(self._channel, self.id, display_name, dict(app_data or {}))
        self.participants[participant.id] = self._index[participant.id] = participant

        def closed() -> None:
            self.participants.pop(participant.id, None)
            self._index.pop(participant.id, None)

        participant.once("close", closed)
        self._channel.send(m.AddParticipant(self.id, participant.id, display_name, participant.app_data))
        return participant

    async def remove_participant(self, participant_id: str) -> None:
        participant = self.participants.get(participant_id)
        if participant is not None:
            await participant.close()

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            if not self._channel.closed:
                await _call(self._channel, lambda ref: m.CloseRoom(ref, self.id))
        except WorkerLost:
            pass
        finally:
            self.lost()

    def lost(self) -> None:
        """The room is gone in the worker (closed, or the worker died)."""
        self.closed = True
        for participant in list(self.participants.values()):
            participant._closed()
        self.emit("close")
        self.remove_all_listeners()
