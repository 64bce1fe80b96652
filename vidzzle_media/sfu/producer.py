"""Producer: one incoming track, fanned out packet by packet to Consumers."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from pyee.asyncio import AsyncIOEventEmitter

from . import aiortc_glue, core
from .codec import CodecInfo
from .intake import Codec, Intake
from .reception import ReceptionStats
from .rtp import RtpView

if TYPE_CHECKING:
    from .consumer import Consumer

log = logging.getLogger(__name__)

#: minimum spacing of key-frame requests upstream; requests inside the window
#: are merged into ONE request at its end (never dropped: joins must not wait)
PLI_INTERVAL_S = 0.2


class Upstream(Protocol):
    """Where a Producer's feedback goes (the publisher, or the presentation)."""

    def request_keyframe(self, media_ssrc: int | None) -> None: ...

    def request_nack(self, media_ssrc: int, seqs: list[int]) -> None: ...


class Producer(AsyncIOEventEmitter):
    """One incoming track (a participant's camera/microphone, or the presentation).

    Its ``intake`` (:mod:`.intake`, the core's per-packet path) is fed
    synchronously with plain RTP and forwards every packet to each
    Consumer's leg. The Producer owns the upstream side of feedback:
    key-frame requests (merged, at most one per 200 ms) and the NACKs its
    intake finds due (aiortc's own generator is bypassed).

    Events: ``close`` ().
    """

    def __init__(self, kind: str, codec: CodecInfo, upstream: Upstream,
                 app_data: dict[str, Any] | None = None, id: str | None = None) -> None:
        super().__init__()
        self.id = id or uuid.uuid4().hex[:12]
        self.kind = kind
        self.codec = codec
        self.app_data = app_data or {}
        self.consumers: dict[str, Consumer] = {}
        self.closed = False
        checks = {"VP8": Codec.VP8, "H264": Codec.H264}.get(codec.name, Codec.OTHER)
        #: the per-packet state (counters, loss tracking) of the core in use
        self.intake: Intake = core.Intake(self, codec.payload_type, codec.rtx_payload_type, checks)
        #: (ntp 64-bit, rtp timestamp) of the publisher's last sender report
        self.last_sr: tuple[int, int] | None = None
        #: for the receiver reports sent back to the publisher
        self.reception = ReceptionStats()
        self._upstream = upstream
        self._last_pli = -1.0
        self._pli_timer: asyncio.TimerHandle | None = None
        self._pli_pending = False
        self.on("error", lambda exc: log.error("%r: %s", self, exc))

    def __repr__(self) -> str:
        return f"Producer({self.id} {self.kind} {self.codec.name})"

    # --- the intake's counters ----------------------------------------------

    @property
    def media_ssrc(self) -> int | None:
        """The source's ssrc, learnt from packets (SDP ssrc lines are optional)."""
        return self.intake.media_ssrc

    @property
    def packets(self) -> int:
        return self.intake.packets

    @property
    def keyframes(self) -> int:
        return self.intake.keyframes

    @property
    def nacked(self) -> int:
        """Upstream packets asked for again (NACK)."""
        return self.intake.nacked

    @property
    def recovered(self) -> int:
        """Upstream packets that came back by RTX."""
        return self.intake.recovered

    @property
    def paused(self) -> bool:
        return self.intake.paused

    @paused.setter
    def paused(self, value: bool) -> None:
        self.intake.paused = value

    # --- media in ---------------------------------------------------------

    def receive(self, view: RtpView, now: float | None = None) -> None:
        """Forward one plain RTP packet of this track (RTX is unwrapped)."""
        self.intake.receive(view, time.monotonic() if now is None else now)

    def _on_new_source(self) -> None:
        self.reception = ReceptionStats()
        if self._pli_pending:
            self.request_keyframe()

    def _on_nack(self, seqs: list[int]) -> None:
        media_ssrc = self.intake.media_ssrc
        if media_ssrc is not None:
            self._upstream.request_nack(media_ssrc, seqs)

    def _on_malformed(self) -> None:
        aiortc_glue.drop("malformed_payload")   # would break the viewers' depacketizers: never forwarded

    def on_sender_report(self, ssrc: int, ntp: int, rtp_ts: int) -> None:
        if ssrc == self.media_ssrc:
            self.last_sr = (ntp, rtp_ts)
            self.reception.sender_report(ntp)

    # --- feedback upstream --------------------------------------------------

    def request_keyframe(self) -> None:
        """Ask the source for a key frame, merged to one per PLI_INTERVAL_S."""
        self._pli_pending = True
        if self.media_ssrc is None and self.kind == "video" and not getattr(self._upstream, "ssrc_free", False):
            return  # sent as soon as the first packet tells us the ssrc
        now = time.monotonic()
        wait = self._last_pli + PLI_INTERVAL_S - now
        if wait <= 0:
            self._send_pli(now)
        elif self._pli_timer is None:
            self._pli_timer = asyncio.get_running_loop().call_later(wait, self._pli_due)

    def _pli_due(self) -> None:
        self._pli_timer = None
        if self._pli_pending and not self.closed:
            self._send_pli(time.monotonic())

    def _send_pli(self, now: float) -> None:
        self._pli_pending = False
        self._last_pli = now
        self._upstream.request_keyframe(self.media_ssrc)

    def request_nack(self, seqs: list[int]) -> None:
        """A receiver lost packets we never had: ask the source (translated)."""
        if self.media_ssrc is not None and seqs:
            self._upstream.request_nack(self.media_ssrc, seqs)

    # --- ownership ------------------------------------------------------------

    def attach(self, consumer: Consumer) -> None:
        self.consumers[consumer.id] = consumer
        self.intake.legs = tuple(c.leg for c in self.consumers.values())

    def detach(self, consumer: Consumer) -> None:
        self.consumers.pop(consumer.id, None)
        self.intake.legs = tuple(c.leg for c in self.consumers.values())

    def close(self) -> None:
        """Close this producer and, cascading, every Consumer it feeds."""
        if self.closed:
            return
        self.closed = True
        if self._pli_timer is not None:
            self._pli_timer.cancel()
            self._pli_timer = None
        for consumer in list(self.consumers.values()):
            consumer.close()
        self.consumers.clear()
        self.intake.legs = ()
        self.emit("close")
        self.remove_all_listeners()
