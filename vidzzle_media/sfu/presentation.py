"""Presentation: a PDF page as a video track, encoded once per page change.

Why this shape (R-MEDIA-3, R-BRAND-4): the page is rendered with PyMuPDF and
encoded with PyAV's libvpx into ONE VP8 key frame per page change, whatever
the number of receivers. The encoded key frame is cached; a key-frame
request (a new receiver, a PLI) re-packetizes the cached bitstream with a
new timestamp, so it costs no encoding at all. A static page sends nothing
except that cached key frame again every ``repeat_s`` seconds (default 10 s,
~6 KB for a typical page): receivers that lost it without asking recover,
and an idle page costs almost no CPU.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import struct
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol, Sequence

import av
from aiortc import clock
from PIL import Image
from pyee.asyncio import AsyncIOEventEmitter

from .. import pdf_pages
from . import aiortc_glue, core
from .codec import CodecInfo
from .producer import Producer

log = logging.getLogger(__name__)

PAYLOAD_TYPE = 96
CLOCK_RATE = 90000
#: a page that takes longer to render + encode is given up (the old one stays)
RENDER_TIMEOUT_S = 10.0


class DocumentLike(Protocol):
    """A presentation document (:class:`Document` satisfies this, and so do the services' records)."""

    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def pdf_path(self) -> str: ...
    @property
    def pages_dir(self) -> str:
        """The pages rendered at upload ("" = render from the PDF: demo and tests only)."""


@dataclass(frozen=True)
class Document:
    """A presentation document of a room; the first one is shown at start."""

    id: str
    """Stable id (used by ``switch``)."""
    title: str
    """Shown to the agent when choosing."""
    pdf_path: str
    """Local path of the PDF (validated at upload by the services layer)."""
    pages_dir: str = ""
    """Its pages rendered at upload (pdf_pages.py); "" = render from the PDF (demo, tests)."""


@dataclass(frozen=True)
class PresentationState:
    """What every participant is shown; sent to clients on every change."""

    document_id: str
    """Id of the shown document."""
    title: str
    """Its title."""
    page: int
    """1-based page number."""
    page_count: int
    """Pages in the document."""


@dataclass(frozen=True)
class EncodeStats:
    """How much work the presentation did (checked by tests)."""

    encodes: int
    """Frames encoded (one per page change)."""
    keyframes_sent: int
    """Times the cached key frame was (re)sent."""


def page_image(pdf_path: str, page_index: int, width: int, height: int, pages_dir: str = "") -> tuple[bytes, int]:
    """(The page letterboxed into width x height as RGB bytes, page count).

    With ``pages_dir`` (every uploaded document has one) the PNG rendered at
    upload is loaded with Pillow: no PDF is rendered in this process, and
    PyMuPDF (with what it imports, ~130 MB) is never loaded into it. Without
    it (the developer page's demo, tests) the page is rendered here."""
    if pages_dir:
        count = pdf_pages.page_count(pages_dir)
        if count == 0:
            raise ValueError("document has no rendered pages")
        page = pdf_pages.page_file(pages_dir, max(0, min(page_index, count - 1)))
        with Image.open(page) as image:
            if image.size != (width, height):
                raise ValueError("rendered page has the wrong size")
            return image.convert("RGB").tobytes(), count
    import pymupdf  # only here: see above

    with pymupdf.open(pdf_path) as doc:  # type: ignore[no-untyped-call]
        count = doc.page_count
        if count == 0:
            raise ValueError("document has no pages")
        return pdf_pages.letterboxed(doc[max(0, min(page_index, count - 1))], width, height).samples, count


@functools.lru_cache(maxsize=64)
def render_and_encode(pdf_path: str, page_index: int, width: int, height: int,
                      pages_dir: str = "") -> tuple[bytes, bytes, int]:
    """One page (``page_image``) encoded as one VP8 key frame plus one (tiny,
    "nothing changed") delta frame.

    The delta frame exists because some receivers (aiortc's jitter buffer)
    only release a frame when the next one starts. Returns (key frame,
    delta frame, page_count). Runs in a worker thread. Cached: an uploaded
    document's files never change (a new upload is a new file), and every
    ringing room of a tenant opens on the same first page — one encode
    serves them all (bench/burst.py: the memory per ringing room).
    """
    canvas, count = page_image(pdf_path, page_index, width, height, pages_dir)
    frame = av.VideoFrame(width, height, "rgb24")
    if frame.planes[0].line_size != width * 3:
        raise ValueError("width must keep RGB rows unpadded (multiple of 32 px)")
    frame.planes[0].update(canvas)
    frame = frame.reformat(format="yuv420p")
    frame.pts = 0
    ctx = av.CodecContext.create("libvpx", "w")
    ctx.width, ctx.height, ctx.pix_fmt = width, height, "yuv420p"
    ctx.time_base = Fraction(1, CLOCK_RATE)
    ctx.framerate = Fraction(30, 1)
    ctx.bit_rate = 3_000_000
    ctx.options = {"deadline": "good", "cpu-used": "4", "qmin": "4", "qmax": "24",
                   "lag-in-frames": "0", "auto-alt-ref": "0"}
    packets = list(ctx.encode(frame))
    frame.pts = CLOCK_RATE // 30
    packets += list(ctx.encode(frame)) + list(ctx.encode(None))
    if len(packets) != 2 or not packets[0].is_keyframe:
        raise ValueError("unexpected encoder output")
    return bytes(packets[0]), bytes(packets[1]), count


class Presentation(AsyncIOEventEmitter):
    """The presentation of one room: documents, current page, and its Producer.

    ``producer`` is added to the Room like any participant's track. Also the
    Producer's upstream: a key-frame request resends the cached key frame.

    Events: ``state`` (PresentationState) after every page/document change.
    """

    #: Producer upstream flag: key frames can be requested before any packet
    ssrc_free = True

    def __init__(self, documents: Sequence[DocumentLike], width: int = 1280, height: int = 720,
                 repeat_s: float = 10.0) -> None:
        super().__init__()
        if not documents:
            raise ValueError("a presentation needs at least one document")
        self.documents = {d.id: d for d in documents}
        self.document = documents[0]
        self.page = 1
        self.page_count = 0
        self.width, self.height, self.repeat_s = width, height, repeat_s
        codec = CodecInfo(kind="video", mime_type="video/VP8", clock_rate=CLOCK_RATE,
                          payload_type=PAYLOAD_TYPE)
        self.producer = Producer("video", codec, self, app_data={"participant_id": None, "source": "presentation"})
        self._ssrc = random.randint(1, 0xFFFFFFFF)
        self._seq = random.randint(0, 0x7FFF)
        self._ts_base = random.randint(0, 0xFFFFFFFF)
        self._t0 = time.monotonic()
        self._picture_id = random.randint(0, 0x7FFF)
        self._keyframe: bytes | None = None
        self._delta: bytes | None = None
        self._delta_timer: asyncio.TimerHandle | None = None
        self._encodes = 0
        self._sent = 0
        self._show_lock = asyncio.Lock()
        self._repeat: asyncio.Task[None] | None = None
        self.closed = False
        self.on("error", lambda exc: log.error("presentation: %s", exc))

    @property
    def state(self) -> PresentationState:
        return PresentationState(self.document.id, self.document.title, self.page, self.page_count)

    @property
    def stats(self) -> EncodeStats:
        return EncodeStats(self._encodes, self._sent)

    async def start(self) -> None:
        """Encode the first page and start the low-rate repeat."""
        await self._show(self.document, 1)
        if self.repeat_s > 0:
            self._repeat = asyncio.ensure_future(self._repeat_loop())

    # --- commands (the agent's) -----------------------------------------------

    async def next(self) -> PresentationState:
        return await self.goto(self.page + 1)

    async def previous(self) -> PresentationState:
        return await self.goto(self.page - 1)

    async def goto(self, page: int) -> PresentationState:
        """Show ``page`` (clamped to the document); a no-op page costs nothing."""
        page = max(1, min(int(page), self.page_count or 1))
        if page != self.page or self._keyframe is None:
            await self._show(self.document, page)
        return self.state

    async def switch(self, document_id: str) -> PresentationState:
        """Show the first page of another document of this room."""
        document = self.documents.get(document_id)
        if document is None:
            raise KeyError(f"unknown document {document_id!r}")
        await self._show(document, 1)
        return self.state

    async def _show(self, document: DocumentLike, page: int) -> None:
        async with self._show_lock:
            loop = asyncio.get_running_loop()
            key, delta, count = await asyncio.wait_for(loop.run_in_executor(
                None, render_and_encode, document.pdf_path, page - 1, self.width, self.height,
                document.pages_dir),
                RENDER_TIMEOUT_S)
            self._encodes += 1
            self.document, self.page_count = document, count
            self.page = max(1, min(page, count))
            self._keyframe, self._delta = key, delta
            self._send_keyframe()
            self.emit("state", self.state)

    # --- Producer upstream --------------------------------------------------------

    def request_keyframe(self, media_ssrc: int | None) -> None:
        if self._keyframe is not None and not self.closed:
            self._send_keyframe()

    def request_nack(self, media_ssrc: int, seqs: list[int]) -> None:
        """Nothing to do: every Consumer answers NACKs from its own history."""

    def _send_keyframe(self) -> None:
        """Send the cached key frame now and its delta frame ~50 ms later."""
        if self._keyframe is None:
            return
        self._send_frame(self._keyframe)
        self._sent += 1
        if self._delta_timer is not None:
            self._delta_timer.cancel()
        self._delta_timer = asyncio.get_running_loop().call_later(0.05, self._send_delta)

    def _send_delta(self) -> None:
        self._delta_timer = None
        if not self.closed and self._delta is not None:
            self._send_frame(self._delta)

    def _send_frame(self, bitstream: bytes) -> None:
        timestamp = (self._ts_base + int((time.monotonic() - self._t0) * CLOCK_RATE)) & 0xFFFFFFFF
        payloads = aiortc_glue.vp8_packetize(bitstream, self._picture_id)
        self._picture_id = (self._picture_id + 1) & 0x7FFF
        self.producer.last_sr = (clock.current_ntp_time(), timestamp)
        last = len(payloads) - 1
        for i, payload in enumerate(payloads):
            header = struct.pack("!BBHII", 0x80, ((i == last) << 7) | PAYLOAD_TYPE, self._seq,
                                 timestamp, self._ssrc)
            self._seq = (self._seq + 1) & 0xFFFF
            self.producer.receive(core.View(header + payload))

    async def _repeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.repeat_s)
            if self._keyframe is not None:
                self._send_keyframe()

    async def close(self) -> None:
        """Stop the repeat and close the Producer (and so its Consumers)."""
        if self.closed:
            return
        self.closed = True
        if self._delta_timer is not None:
            self._delta_timer.cancel()
        if self._repeat is not None:
            self._repeat.cancel()
            await asyncio.gather(self._repeat, return_exceptions=True)
        self.producer.close()
        self.remove_all_listeners()
