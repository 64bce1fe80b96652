"""The media worker process: rooms of the sfu package behind a channel.

Started by :class:`.pool.WorkerPool` as ``vidzzle-media media-worker FD NUMBER``
with one end of a socket pair. It runs an sfu ``LocalHost``, applies the
main process's messages to its rooms and participants, and reports their
events, when media last arrived, and its load. It ends when the main process
closes the channel (or dies: the socket closes with it).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from typing import Any, Awaitable, Callable

from ..sfu import NegotiationError, Participant
from ..sfu import core as media_core
from ..sfu.core import MediaCore
from ..sfu.host import LocalHost
from ..sfu.ice import IcePolicy
from ..sfu.presentation import Document, Presentation
from . import messages as m
from .channel import Channel

log = logging.getLogger(__name__)

#: how often the worker reports when media last arrived (s): the main
#: process answers "is the customer's media arriving" from it
MEDIA_SEEN_S = 0.25
STATUS_S = 1.0


class Worker:
    """Applies the main process's messages to this process's rooms."""

    def __init__(self) -> None:
        self.channel: Channel | None = None
        self.host: LocalHost | None = None
        self.participants: dict[str, Participant] = {}
        self.presentations: dict[str, Presentation] = {}
        self._seen: dict[str, tuple[bool, float | None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- messages ---------------------------------------------------------------------------

    def on_message(self, message: Any) -> None:
        if isinstance(message, m.Configure):
            self._configure(message)
        elif isinstance(message, m.CreateRoom):
            self._answer(message.ref, lambda: self._create_room(message))
        elif isinstance(message, m.CloseRoom):
            self._answer(message.ref, lambda: self._close_room(message.room_id))
        elif isinstance(message, m.AddParticipant):
            self._add_participant(message)
        elif isinstance(message, m.RemoveParticipant):
            self._answer(message.ref, lambda: self._remove_participant(message.participant_id))
        elif isinstance(message, m.Publish):
            self._answer(message.ref, lambda: self._participant(message.participant_id).publish(message.sdp))
        elif isinstance(message, m.SubscribeAnswer):
            self._answer(message.ref, lambda: self._subscribe_answer(message))
        elif isinstance(message, m.AddCandidate):
            self._answer(message.ref, lambda: self._participant(message.participant_id).add_ice_candidate(
                message.pc, message.candidate, message.sdp_mid, message.sdp_mline_index))
        elif isinstance(message, m.SetMuted):
            participant = self.participants.get(message.participant_id)
            if participant is not None:
                participant.set_muted(message.kind, message.muted)
        elif isinstance(message, m.Present):
            self._answer(message.ref, lambda: self._present(message))
        else:
            log.error("media worker: unexpected %s", type(message).__name__)

    def _configure(self, message: m.Configure) -> None:
        from ..config import IceSettings
        from ..turn_servers import TurnAccount

        settings = IceSettings(**message.ice)
        turn = TurnAccount.from_settings(settings)
        media_core.select(MediaCore(message.core))
        self.host = LocalHost(IcePolicy(settings, turn_credential=turn.credential), message.video_codec)

    def _answer(self, ref: int, call: Callable[[], Awaitable[Any] | Any]) -> None:
        """Run ``call`` in its own task and send its result (or error) as the Reply of ``ref``."""
        async def run() -> None:
            try:
                result = call()
                if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                    result = await result
                reply = m.Reply(ref, True, result)
            except NegotiationError as exc:
                reply = m.Reply(ref, False, error=str(exc), kind="negotiation")
            except ValueError as exc:
                reply = m.Reply(ref, False, error=str(exc), kind="value")
            except Exception as exc:   # the main process turns it into the client's ``error``
                reply = m.Reply(ref, False, error=repr(exc)[:300], kind="failed")
            if ref and self.channel is not None and not self.channel.closed:
                self.channel.send(reply)

        task = asyncio.ensure_future(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _participant(self, participant_id: str) -> Participant:
        participant = self.participants.get(participant_id)
        if participant is None:
            raise NegotiationError("participant has left")
        return participant

    async def _create_room(self, message: m.CreateRoom) -> dict[str, Any] | None:
        """The presentation's first state (None: the room has none)."""
        assert self.host is not None, "Configure comes first"
        documents = [Document(**d) for d in message.documents]
        room, presentation = await self.host.create_room(documents, message.app_data, room_id=message.room_id)
        if presentation is not None:
            self.presentations[room.id] = presentation
            return _state(presentation)
        return None

    async def _close_room(self, room_id: str) -> None:
        assert self.host is not None
        presentation = self.presentations.pop(room_id, None)
        if presentation is not None:
            await presentation.close()
        room = self.host.rooms.get(room_id)
        if room is not None:
            await room.close()

    def _add_participant(self, message: m.AddParticipant) -> None:
        room = self.host.rooms.get(message.room_id) if self.host is not None else None
        if room is None:
            log.warning("media worker: participant for a room that is gone")
            return
        participant = room.add_participant(message.display_name, message.app_data, id=message.participant_id)
        self.participants[participant.id] = participant
        channel = self.channel
        assert channel is not None

        def offer(sdp: str, tracks: list[dict]) -> None:
            if not channel.closed:
                channel.send(m.SubscribeOffer(participant.id, sdp, tracks))

        def closed() -> None:
            self.participants.pop(participant.id, None)
            self._seen.pop(participant.id, None)
            if not channel.closed:
                channel.send(m.ParticipantClosed(participant.id))

        participant.on("subscribe_offer", offer)
        participant.once("close", closed)

    async def _remove_participant(self, participant_id: str) -> None:
        participant = self.participants.get(participant_id)
        if participant is not None:
            await participant.close()

    def _subscribe_answer(self, message: m.SubscribeAnswer) -> None:
        self._participant(message.participant_id).subscribe_answer(message.sdp)

    async def _present(self, message: m.Present) -> dict[str, Any]:
        presentation = self.presentations.get(message.room_id)
        if presentation is None:
            raise ValueError("this room has no presentation")
        if message.command == "next":
            await presentation.next()
        elif message.command == "previous":
            await presentation.previous()
        elif message.command == "goto" and message.page is not None:
            await presentation.goto(message.page)
        elif message.command == "switch" and message.document_id is not None:
            await presentation.switch(message.document_id)
        else:
            raise ValueError(f"bad presentation command {message.command!r}")
        return _state(presentation)

    # --- reports ----------------------------------------------------------------------------

    async def report(self) -> None:
        """When media last arrived (a few times a second, on change) and the load (every second)."""
        next_status = 0.0
        while self.channel is not None and not self.channel.closed:
            for participant in list(self.participants.values()):
                seen = (bool(participant.producers), participant.last_media_at)
                if self._seen.get(participant.id) != seen:
                    self._seen[participant.id] = seen
                    self.channel.send(m.MediaSeen(participant.id, *seen))
            now = time.monotonic()
            if now >= next_status and self.host is not None:
                next_status = now + STATUS_S
                totals = self.host.totals()
                times = os.times()
                self.channel.send(m.Status(os.getpid(), len(self.host.rooms), len(self.participants), totals.packets,
                                           totals.bytes, totals.retransmits, times.user + times.system,
                                           self.host.dropped()))
            await asyncio.sleep(MEDIA_SEEN_S)

    async def close(self) -> None:
        if self.host is not None:
            for presentation in list(self.presentations.values()):
                await presentation.close()
            await asyncio.gather(*(room.close() for room in list(self.host.rooms.values())), return_exceptions=True)


def _state(presentation: Presentation) -> dict[str, Any]:
    s = presentation.state
    return {"document_id": s.document_id, "title": s.title, "page": s.page, "page_count": s.page_count}


async def serve(fd: int) -> None:
    worker = Worker()
    channel = await Channel.open(socket.socket(fileno=fd), worker.on_message)
    worker.channel = channel
    reports = asyncio.ensure_future(worker.report())
    try:
        await channel.run()          # until the main process closes the channel or is gone
    finally:
        reports.cancel()
        await worker.close()


def main(argv: list[str]) -> int:
    """``FD NUMBER LOG_LEVEL [json]``: the main process stops a worker by
    closing the channel, so a Ctrl-C in the terminal (sent to the whole
    process group) is left to the main process."""
    from ..logs import configure_logging

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging(argv[2] if len(argv) > 2 else "INFO", argv[3:4] == ["json"], process=f"media-worker {argv[1]}")
    asyncio.run(serve(int(argv[0])))
    return 0
