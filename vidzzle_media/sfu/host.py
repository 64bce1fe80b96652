"""LocalHost: the rooms of one process, with their presentations.

The media side the signalling asks for rooms. In the embedded default it is
the server's own process (``server.media_workers = 0``); a media worker
(:mod:`vidzzle_media.workers`) runs one too, behind its channel.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

from pyee.asyncio import AsyncIOEventEmitter

from . import aiortc_glue
from .ice import IcePolicy
from .presentation import DocumentLike, Presentation
from .room import Room
from .stats import ForwardingTotals, forwarding_totals

log = logging.getLogger(__name__)


class LocalHost(AsyncIOEventEmitter):
    """Creates Rooms (and their Presentation) in this process and counts what they forward.

    Events: none (``room_lost`` is a worker's: a process does not outlive its rooms)."""

    def __init__(self, ice: IcePolicy, video_codec: str = "VP8") -> None:
        super().__init__()
        self.ice = ice
        self.video_codec = video_codec
        self.rooms: dict[str, Room] = {}

    async def create_room(self, documents: Sequence[DocumentLike], app_data: dict[str, Any],
                          room_id: str | None = None) -> tuple[Room, Presentation | None]:
        """A new room; with documents, their first page is shown as a video.
        A document that cannot be shown leaves the room without a presentation:
        a broken PDF must not stop the call."""
        room = Room(self.ice, self.video_codec, id=room_id, app_data=app_data)
        presentation = None
        if documents:
            candidate = Presentation(documents)
            try:
                await candidate.start()
            except Exception as exc:
                log.warning("room %s: presentation unavailable: %r", room.id[:8], exc)
                await candidate.close()
            else:
                presentation = candidate
                room.add_producer(presentation.producer)
        self.rooms[room.id] = room
        room.once("close", lambda: self.rooms.pop(room.id, None))
        return room, presentation

    def totals(self) -> ForwardingTotals:
        """Forwarded since this process started (see :mod:`.stats`)."""
        return forwarding_totals(self.rooms.values())

    def dropped(self) -> dict[str, int]:
        """Datagrams this process's media ports dropped unread, by reason."""
        return dict(aiortc_glue.DROPPED)

    def loads(self) -> list[tuple[int, Any]]:
        """No workers: the media runs here."""
        return []

    async def start(self) -> None:
        """Nothing of its own to start."""

    async def close(self) -> None:
        """Nothing of its own to stop: the directory closes the rooms."""
