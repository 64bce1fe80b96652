"""Room: the participants of one call and the producers they share."""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from pyee.asyncio import AsyncIOEventEmitter

from .consumer import Consumer
from .ice import IcePolicy
from .participant import Participant
from .producer import Producer

log = logging.getLogger(__name__)


class Room(AsyncIOEventEmitter):
    """Owns Participants (``participants``) and room-level Producers such as
    the presentation (``producers``). Every Producer is consumed by every
    Participant except its own publisher. ``close()`` cascades.

    Events: ``participant`` (Participant) joined, ``participant_close``
    (Participant) left, ``producer`` (Producer) added, ``close`` ().
    """

    def __init__(self, ice: IcePolicy, video_codec: str = "VP8", id: str | None = None,
                 app_data: dict[str, Any] | None = None) -> None:
        super().__init__()
        if video_codec.upper() not in ("VP8", "H264"):
            raise ValueError("video_codec must be VP8 or H264")
        self.id = id or uuid.uuid4().hex
        self.video_codec = video_codec.upper()
        self.app_data = app_data or {}
        self.participants: dict[str, Participant] = {}
        self.producers: dict[str, Producer] = {}
        self.closed = False
        self._ice = ice
        self.on("error", lambda exc: log.error("%r: %s", self, exc))

    def __repr__(self) -> str:
        return f"Room({self.id[:8]})"

    def add_participant(self, display_name: str = "", app_data: dict[str, Any] | None = None,
                        id: str | None = None) -> Participant:
        """A new participant that at once consumes every existing producer
        (``id``: given by a main process that relays to this one)."""
        if self.closed:
            raise RuntimeError("room closed")
        participant = Participant(self.id, self._ice, self.video_codec, display_name, app_data, id=id)
        self.participants[participant.id] = participant
        participant.on("producer", lambda producer: self._on_producer(participant, producer))
        participant.once("close", lambda: self._on_participant_close(participant))
        for producer in self.all_producers():
            self.consume(participant, producer)
        self.emit("participant", participant)
        return participant

    def all_producers(self) -> list[Producer]:
        out = list(self.producers.values())
        for p in self.participants.values():
            out.extend(p.producers.values())
        return out

    def add_producer(self, producer: Producer) -> None:
        """A room-level producer (the presentation), consumed by everyone."""
        self.producers[producer.id] = producer
        producer.once("close", lambda: self.producers.pop(producer.id, None))
        for participant in list(self.participants.values()):
            self.consume(participant, producer)
        self.emit("producer", producer)

    def consume(self, participant: Participant, producer: Producer) -> Consumer | None:
        if participant.closed or producer.closed or producer.app_data.get("participant_id") == participant.id:
            return None
        return participant.consume(producer)

    def _on_producer(self, owner: Participant, producer: Producer) -> None:
        for participant in list(self.participants.values()):
            if participant is not owner:
                self.consume(participant, producer)
        self.emit("producer", producer)

    def _on_participant_close(self, participant: Participant) -> None:
        self.participants.pop(participant.id, None)
        self.emit("participant_close", participant)

    async def remove_participant(self, participant_id: str) -> None:
        participant = self.participants.get(participant_id)
        if participant is not None:
            await participant.close()

    async def close(self) -> None:
        """Close every room-level producer and participant, then the room."""
        if self.closed:
            return
        self.closed = True
        for producer in list(self.producers.values()):
            producer.close()
        await asyncio.gather(*(p.close() for p in list(self.participants.values())), return_exceptions=True)
        self.emit("close")
        self.remove_all_listeners()
