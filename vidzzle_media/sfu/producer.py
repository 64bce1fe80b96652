"""Producer: one incoming track, fanned out packet by packet to Consumers."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable, Protocol

from pyee.asyncio import AsyncIOEventEmitter

from . import aiortc_glue, core
from .codec import CodecInfo
from .reception import ReceptionStats
from .rtp import (
    RtpView,
    h264_keyframe_start,
    h264_payload_ok,
    seq_newer,
    unwrap_rtx,
    vp8_keyframe_start,
    vp8_payload_ok,
)

if TYPE_CHECKING:
    from .consumer import Consumer

log = logging.getLogger(__name__)

#: minimum spacing of key-frame requests upstream; requests inside the window
#: are merged into ONE request at its end (never dropped: joins must not wait)
PLI_INTERVAL_S = 0.2
#: how often and how many times a missing upstream packet is NACKed
NACK_RETRY_S = 0.04
NACK_ATTEMPTS = 3
NACK_MAX_GAP = 200


class Upstream(Protocol):
    """Where a Producer's feedback goes (the publisher, or the presentation)."""

    def request_keyframe(self, media_ssrc: int | None) -> None: ...

    def request_nack(self, media_ssrc: int, seqs: list[int]) -> None: ...


class Producer(AsyncIOEventEmitter):
    """One incoming track (a participant's camera/microphone, or the presentation).

    Fed synchronously with plain RTP by the owner (``receive``); forwards
    every packet to each Consumer in ``consumers``. Owns the upstream side
    of feedback: key-frame requests (merged, at most one per 200 ms) and a
    NACK generator for upstream loss (aiortc's own is bypassed).

    Events: ``close`` (), ``keyframe`` () when a key frame starts.
    """

    def __init__(self, kind: str, codec: CodecInfo, upstream: Upstream,
                 app_data: dict[str, Any] | None = None, id: str | None = None) -> None:
        super().__init__()
        self.id = id or uuid.uuid4().hex[:12]
        self.kind = kind
        self.codec = codec
        self.app_data = app_data or {}
        self.consumers: dict[str, Consumer] = {}
        #: the Consumers' legs as a tuple, rebuilt on attach/detach (the
        #: per-packet core iterates it without copying the dict)
        self._legs: tuple[Any, ...] = ()
        self.closed = False
        self.paused = False
        #: learnt from packets (SDP ssrc lines are optional)
        self.media_ssrc: int | None = None
        #: (ntp 64-bit, rtp timestamp) of the publisher's last sender report
        self.last_sr: tuple[int, int] | None = None
        self.packets = 0
        self.keyframes = 0
        #: for the receiver reports sent back to the publisher
        self.reception = ReceptionStats()
        #: upstream loss recovery counters
        self.nacked = 0
        self.recovered = 0
        self._upstream = upstream
        self._highest_seq: int | None = None
        self._missing: dict[int, int] = {}
        self._last_nack = 0.0
        self._last_pli = -1.0
        self._pli_timer: asyncio.TimerHandle | None = None
        self._pli_pending = False
        self._keyframe: Callable[[bytes], bool] | None
        self._valid: Callable[[bytes], bool] | None
        if codec.name == "VP8":
            self._keyframe, self._valid = vp8_keyframe_start, vp8_payload_ok
        elif codec.name == "H264":
            self._keyframe, self._valid = h264_keyframe_start, h264_payload_ok
        else:
            self._keyframe, self._valid = None, None
        self.on("error", lambda exc: log.error("%r: %s", self, exc))

    def __repr__(self) -> str:
        return f"Producer({self.id} {self.kind} {self.codec.name})"

    # --- media in ---------------------------------------------------------

    def receive(self, view: RtpView) -> None:
        """Forward one plain RTP packet of this track (RTX is unwrapped)."""
        codec = self.codec
        if view.payload_type != codec.payload_type:
            if view.payload_type == codec.rtx_payload_type and self.media_ssrc is not None:
                data = unwrap_rtx(view, codec.payload_type)
                if data is None:
                    return
                try:
                    view = core.View(data)
                except ValueError:
                    return
                view.ssrc = self.media_ssrc
                self.recovered += 1
            else:
                return
        if view.ssrc != self.media_ssrc:
            self.media_ssrc = view.ssrc
            self._highest_seq = None
            self._missing.clear()
            self.reception = ReceptionStats()
            if self._pli_pending:
                self.request_keyframe()
        self._track_loss(view.seq)
        self.reception.add(view.seq)
        if self._valid is not None and view.payload and not self._valid(view.payload):
            aiortc_glue.drop("malformed_payload")   # would break the viewers' depacketizers: never forwarded
            return
        if self._keyframe is not None and self._keyframe(view.payload):
            view.keyframe_start = True
            self.keyframes += 1
        self.packets += 1
        if self.paused:
            return
        verdicts = core.fanout(view, self._legs)
        if verdicts:
            for leg, verdict in verdicts:
                leg.owner.on_verdict(verdict)

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

    def _track_loss(self, seq: int) -> None:
        highest = self._highest_seq
        if highest is None:
            self._highest_seq = seq
            return
        if seq_newer(seq, highest):
            gap = (seq - highest) & 0xFFFF
            if 1 < gap <= NACK_MAX_GAP:
                for s in range(highest + 1, highest + gap):
                    self._missing[s & 0xFFFF] = 0
            self._highest_seq = seq
        else:
            self._missing.pop(seq, None)
        if self._missing:
            now = time.monotonic()
            if now - self._last_nack >= NACK_RETRY_S:
                self._last_nack = now
                due = []
                highest = self._highest_seq
                assert highest is not None      # a packet was seen: seq tracking started
                for s, attempts in list(self._missing.items()):
                    if attempts >= NACK_ATTEMPTS or not seq_newer(highest, s) or \
                            ((highest - s) & 0xFFFF) > NACK_MAX_GAP:
                        del self._missing[s]
                        continue
                    self._missing[s] = attempts + 1
                    due.append(s)
                if due and self.media_ssrc is not None:
                    self.nacked += len(due)
                    self._upstream.request_nack(self.media_ssrc, due)

    # --- ownership ------------------------------------------------------------

    def attach(self, consumer: Consumer) -> None:
        self.consumers[consumer.id] = consumer
        self._legs = tuple(c.leg for c in self.consumers.values())

    def detach(self, consumer: Consumer) -> None:
        self.consumers.pop(consumer.id, None)
        self._legs = tuple(c.leg for c in self.consumers.values())

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
        self._legs = ()
        self.emit("close")
        self.remove_all_listeners()
