"""WorkerPool: media workers, and the rooms placed on them.

``server.media_workers = N`` (N > 0) runs the rooms in N worker processes
(mediasoup's Worker model): the main process keeps HTTP, the back office,
call routing and signalling, places each new room on the least-loaded
worker and relays the room's signalling to it (:mod:`.proxy`). A worker
that dies ends its rooms (event ``room_lost``; the directory closes them
with the reason ``worker_lost``) and is replaced.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any, Sequence

from pyee.asyncio import AsyncIOEventEmitter

from ..sfu.presentation import Document
from ..sfu.stats import ForwardingTotals
from . import messages as m
from .channel import Channel
from .proxy import ParticipantProxy, PresentationProxy, RoomProxy, _call

log = logging.getLogger(__name__)


def worker_command(fd: int, number: int, log_level: str, log_json: bool) -> list[str]:
    """How to start worker ``number``: the same program, frozen (the single binary) or not."""
    args = ["media-worker", str(fd), str(number), log_level] + (["json"] if log_json else [])
    if getattr(sys, "frozen", False):
        return [sys.executable, *args]
    return [sys.executable, "-m", "vidzzle_media", *args]


@dataclass
class WorkerHandle:
    """One worker process as the main process sees it."""

    number: int
    process: asyncio.subprocess.Process
    channel: Channel
    rooms: dict[str, RoomProxy] = field(default_factory=dict)
    participants: dict[str, ParticipantProxy] = field(default_factory=dict)
    status: m.Status | None = None
    """Its last report (None until the first, a second after start)."""
    reader: asyncio.Task[None] | None = None

    def on_message(self, message: Any) -> None:
        if isinstance(message, m.Status):
            self.status = message
            return
        participant = self.participants.get(getattr(message, "participant_id", ""))
        if participant is None:
            return        # it left meanwhile
        if isinstance(message, m.SubscribeOffer):
            participant._offer(message)
        elif isinstance(message, m.MediaSeen):
            participant._seen(message)
        elif isinstance(message, m.ParticipantClosed):
            participant._closed()


class WorkerPool(AsyncIOEventEmitter):
    """Starts and watches the workers; a :class:`~vidzzle_media.signalling.rooms.MediaHost`.

    Events: ``room_lost`` (room_id) when a room's worker died.
    """

    def __init__(self, count: int, ice: Any, video_codec: str = "VP8", core: str = "compiled",
                 log_level: str = "INFO", log_json: bool = False) -> None:
        """``ice``: the policy the main process uses (its settings go to every worker)."""
        super().__init__()
        if count < 1:
            raise ValueError("a worker pool needs at least one worker")
        self.count = count
        self.ice = ice
        self.video_codec = video_codec
        self.core = core
        self.log_level = log_level
        self.log_json = log_json
        self.workers: list[WorkerHandle] = []
        self._numbers = iter(range(1, 1 << 30))
        self._closing = False
        self._replacing: set[asyncio.Task[WorkerHandle]] = set()
        """Workers being started in place of dead ones (a lost room waits for them when none is left)."""
        self._retired = ForwardingTotals()
        self._retired_dropped: dict[str, int] = {}
        self.on("error", lambda exc: log.error("worker pool listener failed: %r", exc))

    async def start(self) -> None:
        self.workers = list(await asyncio.gather(*(self._spawn() for _ in range(self.count))))
        log.info("media: %d worker processes (%s)", len(self.workers),
                 ", ".join(str(w.process.pid) for w in self.workers))

    async def _spawn(self) -> WorkerHandle:
        number = next(self._numbers)
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            process = await asyncio.create_subprocess_exec(*worker_command(child.fileno(), number, self.log_level, self.log_json),
                                                           pass_fds=(child.fileno(),))
        finally:
            child.close()
        handle: WorkerHandle | None = None

        def deliver(message: Any) -> None:
            if handle is not None:
                handle.on_message(message)

        channel = await Channel.open(parent, deliver)
        handle = WorkerHandle(number, process, channel)
        channel.send(m.Configure(dataclasses.asdict(self.ice.settings), self.video_codec, self.core))
        handle.reader = asyncio.ensure_future(self._read(handle))
        return handle

    async def _read(self, handle: WorkerHandle) -> None:
        await handle.channel.run()
        if self._closing:
            return
        code = await handle.process.wait()
        log.error("media worker %d (pid %d) ended with exit code %s: %d rooms lost; starting a new one",
                  handle.number, handle.process.pid, code, len(handle.rooms))
        if handle.status is not None:
            self._retire(handle.status)
        if handle in self.workers:
            self.workers.remove(handle)
        replacement = asyncio.ensure_future(self._spawn())
        self._replacing.add(replacement)
        for room in list(handle.rooms.values()):
            room.lost()
            self.emit("room_lost", room.id)
        try:
            self.workers.append(await replacement)
        except Exception as exc:
            log.error("media worker %d could not be replaced: %r", handle.number, exc)
        finally:
            self._replacing.discard(replacement)

    def _retire(self, status: m.Status) -> None:
        """Keep a dead worker's last counts: the totals never go backwards."""
        for reason, count in status.dropped.items():
            self._retired_dropped[reason] = self._retired_dropped.get(reason, 0) + count
        self._retired.packets += status.packets
        self._retired.bytes += status.bytes
        self._retired.retransmits += status.retransmits

    async def _least_loaded(self) -> WorkerHandle:
        """The running worker with the fewest rooms; when none runs, the ones
        being started in place of dead ones are waited for."""
        live = [w for w in self.workers if not w.channel.closed]
        if not live and self._replacing:
            done = await asyncio.gather(*self._replacing, return_exceptions=True)
            live = [w for w in done if isinstance(w, WorkerHandle) and not w.channel.closed]
        if not live:
            raise RuntimeError("no media worker is running")
        return min(live, key=lambda w: (len(w.rooms), len(w.participants)))

    async def create_room(self, documents: Sequence[Document], app_data: dict[str, Any],
                          room_id: str | None = None) -> tuple[RoomProxy, PresentationProxy | None]:
        handle = await self._least_loaded()
        room_id = room_id or uuid.uuid4().hex
        docs = [dataclasses.asdict(d) if dataclasses.is_dataclass(d) else
                {"id": d.id, "title": d.title, "pdf_path": d.pdf_path, "pages_dir": d.pages_dir} for d in documents]
        state = await _call(handle.channel, lambda ref: m.CreateRoom(ref, room_id, docs, app_data))
        room = RoomProxy(handle.channel, room_id, handle.participants)
        handle.rooms[room_id] = room
        room.once("close", lambda: handle.rooms.pop(room_id, None))
        presentation = None if state is None else PresentationProxy(handle.channel, room_id, list(documents), state)
        return room, presentation

    def totals(self) -> ForwardingTotals:
        out = ForwardingTotals(self._retired.packets, self._retired.bytes, self._retired.retransmits)
        for w in self.workers:
            if w.status is not None:
                out.packets += w.status.packets
                out.bytes += w.status.bytes
                out.retransmits += w.status.retransmits
        return out

    def dropped(self) -> dict[str, int]:
        out = dict(self._retired_dropped)
        for w in self.workers:
            for reason, count in (w.status.dropped if w.status else {}).items():
                out[reason] = out.get(reason, 0) + count
        return out

    def loads(self) -> list[tuple[int, m.Status]]:
        """(worker number, its last report) of every running worker that reported."""
        return [(w.number, w.status) for w in self.workers if w.status is not None]

    async def close(self) -> None:
        """Close the channels (each worker then closes its rooms and ends) and wait for the processes."""
        if self._closing:
            return
        self._closing = True
        starting = await asyncio.gather(*self._replacing, return_exceptions=True)
        workers = self.workers + [w for w in starting if isinstance(w, WorkerHandle) and w not in self.workers]
        for w in workers:
            await w.channel.close()
        for w in workers:
            try:
                await asyncio.wait_for(w.process.wait(), 10)
            except asyncio.TimeoutError:
                log.warning("media worker %d did not stop; killing it", w.number)
                w.process.kill()
                await w.process.wait()
            if w.reader is not None:
                await asyncio.gather(w.reader, return_exceptions=True)
