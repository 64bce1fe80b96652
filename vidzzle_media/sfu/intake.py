"""Intake and Demux: what happens to every incoming RTP packet before fanout, in Python (the reference).

In a 1:1 call each packet is forwarded once, so the work on the way in
(find the track, unwrap RTX, track loss, count for the receiver reports,
check the payload, spot key frames) costs as much as the forwarding
itself. Like :mod:`.leg`, it exists twice with one interface:

- :class:`Demux` and :class:`Intake` here, plain Python: the reference;
- ``_fastpath.Demux`` and ``_fastpath.Intake`` (``_fastpath.c``): the same
  rules in C, so a packet from the socket to the last ``sendmmsg`` runs no
  Python code at all.

``tests/sfu/test_core_differential.py`` feeds both the same packets and
compares every outcome. The Producer keeps what is not per packet: key
frame requests upstream, sender reports, the receiver reports' timing.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from . import leg
from .rtp import (
    RtpView,
    h264_keyframe_start,
    h264_payload_ok,
    seq_newer,
    unwrap_rtx,
    vp8_keyframe_start,
    vp8_payload_ok,
)

#: how often and how many times a missing upstream packet is NACKed
NACK_RETRY_S = 0.04
NACK_ATTEMPTS = 3
#: how far behind the newest packet a missing one is still asked for; the
#: missing packets live in a ring of NACK_WINDOW slots (a newer one evicts
#: one NACK_WINDOW older: it is past NACK_MAX_GAP, never asked for again)
NACK_MAX_GAP = 200
NACK_WINDOW = 256


class Codec:
    """Which payload checks a track gets (values shared with the C core)."""

    OTHER = 0
    VP8 = 1
    H264 = 2


_CHECKS: dict[int, tuple[Callable[[bytes], bool], Callable[[bytes], bool]]] = {
    Codec.VP8: (vp8_payload_ok, vp8_keyframe_start),
    Codec.H264: (h264_payload_ok, h264_keyframe_start),
}


class Intake:
    """One incoming track's per-packet state; ``receive`` is the per-packet path.

    ``owner`` (the Producer) is told what needs more than counting:
    ``_on_new_source()`` when the ssrc changes, ``_on_nack(seqs)`` when
    missing packets are due to be asked for again, ``_on_malformed()`` for
    a payload no receiver could depacketize (never forwarded).
    """

    __slots__ = ("owner", "payload_type", "rtx_payload_type", "codec", "legs", "paused", "media_ssrc",
                 "packets", "keyframes", "recovered", "nacked", "base_seq", "max_seq", "cycles", "received",
                 "_highest", "_missing", "_missing_count", "_last_nack", "_checks")

    def __init__(self, owner: Any, payload_type: int, rtx_payload_type: int | None, codec: int) -> None:
        self.owner = owner
        self.payload_type = payload_type
        self.rtx_payload_type = rtx_payload_type
        self.codec = codec
        #: the Consumers' legs (set by the Producer on attach/detach)
        self.legs: tuple[Any, ...] = ()
        self.paused = False
        #: learnt from packets (SDP ssrc lines are optional)
        self.media_ssrc: int | None = None
        self.packets = 0
        self.keyframes = 0
        #: upstream loss recovery: RTX packets unwrapped, packets asked for
        self.recovered = 0
        self.nacked = 0
        #: RFC 3550 A.3 counters of the current source (for the receiver reports)
        self.base_seq: int | None = None
        self.max_seq = 0
        self.cycles = 0
        self.received = 0
        self._highest: int | None = None
        #: missing sequence numbers: slot seq % NACK_WINDOW holds (seq, attempts)
        self._missing: list[tuple[int, int] | None] = [None] * NACK_WINDOW
        self._missing_count = 0
        self._last_nack = 0.0
        self._checks = _CHECKS.get(codec)

    def receive(self, view: RtpView, now: float) -> None:
        """Forward one plain RTP packet of this track (RTX is unwrapped)."""
        if view.payload_type != self.payload_type:
            if view.payload_type != self.rtx_payload_type or self.media_ssrc is None:
                return
            data = unwrap_rtx(view, self.payload_type)
            if data is None:
                return
            try:
                view = RtpView(data)
            except ValueError:
                return
            view.ssrc = self.media_ssrc
            self.recovered += 1
        if view.ssrc != self.media_ssrc:
            self.media_ssrc = view.ssrc
            self._new_source()
            self.owner._on_new_source()
        self._track_loss(view.seq, now)
        self._count(view.seq)
        checks = self._checks
        if checks is not None:
            payload = view.payload
            if payload and not checks[0](payload):
                self.owner._on_malformed()
                return
            if checks[1](payload):
                view.keyframe_start = True
                self.keyframes += 1
        self.packets += 1
        if self.paused:
            return
        verdicts = leg.fanout(view, self.legs)
        if verdicts:
            for x, verdict in verdicts:
                x.owner.on_verdict(verdict)

    def _new_source(self) -> None:
        self._highest = None
        self._missing = [None] * NACK_WINDOW
        self._missing_count = 0
        self.base_seq = None
        self.max_seq = self.cycles = self.received = 0

    def _count(self, seq: int) -> None:
        self.received += 1
        if self.base_seq is None:
            self.base_seq = self.max_seq = seq
        elif seq_newer(seq, self.max_seq):
            if seq < self.max_seq:
                self.cycles += 1 << 16
            self.max_seq = seq

    def _track_loss(self, seq: int, now: float) -> None:
        highest = self._highest
        if highest is None:
            self._highest = seq
            return
        missing = self._missing
        if seq_newer(seq, highest):
            gap = (seq - highest) & 0xFFFF
            if 1 < gap <= NACK_MAX_GAP:
                for s in range(highest + 1, highest + gap):
                    s &= 0xFFFF
                    if missing[s % NACK_WINDOW] is None:
                        self._missing_count += 1
                    missing[s % NACK_WINDOW] = (s, 0)
            self._highest = highest = seq
        else:
            entry = missing[seq % NACK_WINDOW]
            if entry is not None and entry[0] == seq:
                missing[seq % NACK_WINDOW] = None
                self._missing_count -= 1
        if self._missing_count and now - self._last_nack >= NACK_RETRY_S:
            self._last_nack = now
            due = []
            for back in range(NACK_WINDOW - 1, -1, -1):     # every slot once, oldest first
                s = (highest - back) & 0xFFFF
                entry = missing[s % NACK_WINDOW]
                if entry is None:
                    continue
                if entry[0] != s or entry[1] >= NACK_ATTEMPTS or back == 0 or back > NACK_MAX_GAP:
                    missing[s % NACK_WINDOW] = None     # too old, asked often enough, or not missing
                    self._missing_count -= 1
                    continue
                missing[s % NACK_WINDOW] = (s, entry[1] + 1)
                due.append(s)
            if due:
                self.nacked += len(due)
                self.owner._on_nack(due)


class Demux:
    """A participant's incoming plain RTP to its tracks, by payload type (the receive hook's ``on_rtp``)."""

    __slots__ = ("by_pt", "last_media_at", "drop")

    def __init__(self, drop: Callable[[str], Any]) -> None:
        #: payload type (main and RTX) -> the track's Intake
        self.by_pt: dict[int, Any] = {}
        #: monotonic time of the last authentic packet (None: none yet)
        self.last_media_at: float | None = None
        self.drop = drop

    def __call__(self, data: bytes) -> None:
        now = time.monotonic()
        self.last_media_at = now
        try:
            view = RtpView(data)
        except ValueError:      # authenticated, but malformed: never forwarded
            self.drop("malformed_rtp")
            return
        intake = self.by_pt.get(view.payload_type)
        if intake is not None:
            intake.receive(view, now)
