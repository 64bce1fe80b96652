"""Leg: the per-packet state of one receiving leg, in Python (the reference core).

The forwarding core is what runs for every RTP packet: for each receiving
leg, key-frame gating, the new header (this leg's payload type, sequence and
timestamp offsets, ssrc), the remapped extension block, the NACK history,
SRTP protect and the send. It exists twice with one interface:

- :class:`Leg` here, plain Python: the reference, easy to read and to change;
- ``vidzzle_media.sfu._fastpath.Leg``, C through the CPython API
  (``_fastpath.c``): the same rules, several times cheaper per packet.

``tests/sfu/test_core_differential.py`` feeds both the same packets and
asserts byte-identical datagrams, so a change to one without the other
fails. :mod:`.core` picks one (setting ``media.core``). The Consumer keeps
everything that is not per packet: negotiation, key-frame requests,
answering NACKs, sender reports.
"""

from __future__ import annotations

import random
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from .rtp import RtpView, build_extension_block, rewrite

if TYPE_CHECKING:
    from .aiortc_glue import SendPath

#: packets kept per video leg for NACKs (a power of two: indexed by seq &
#: mask): 3 s at 1.5 Mbit/s, far beyond any round trip a retransmission is
#: still useful for. The history keeps the incoming packets alive (about
#: 1.2 kB each), so this is most of a call's memory. Audio legs keep none:
#: browsers do not NACK Opus (a NACK for audio goes upstream instead).
HISTORY_SIZE = 512
HISTORY_MASK = HISTORY_SIZE - 1


class Verdict(IntEnum):
    """Why a leg did not send a packet, when its Consumer has to act on it."""

    WAITING = 1
    """Video waiting for a key frame (a new source, a join, or after congestion): the packet was dropped."""
    CONGESTED = 2
    """The socket's buffer is full: the packet was dropped."""


class Leg:
    """One receiving leg's rewrite state; ``forward`` is the per-packet path."""

    __slots__ = ("owner", "video", "ts_step", "path", "pt", "ssrc", "seq_offset", "ts_offset",
                 "src_ssrc", "max_seq", "last_ts", "waiting_keyframe", "packets_sent", "octets_sent",
                 "_ext_map", "_ext_key", "_history")

    def __init__(self, owner: Any, video: bool, ts_step: int) -> None:
        #: the Consumer, which acts on verdicts
        self.owner = owner
        self.video = video
        #: timestamp step bridged at a source switch (one frame at 30 fps)
        self.ts_step = ts_step
        #: where packets go; None until the leg is negotiated and connected
        self.path: SendPath | None = None
        self.pt = 0
        self.ssrc = 0
        self.seq_offset = random.randint(0, 0x7FFF)
        self.ts_offset = random.randint(0, 0xFFFFFFFF)
        #: the source the offsets were computed for (-1: a predecessor's, unknown)
        self.src_ssrc: int | None = None
        #: highest sequence number sent and its timestamp (None: nothing sent)
        self.max_seq: int | None = None
        self.last_ts = 0
        self.waiting_keyframe = video
        self.packets_sent = 0
        self.octets_sent = 0
        self._ext_map: dict[int, int] = {}
        self._ext_key: tuple[tuple[int, int], ...] = ()
        #: (sequence, timestamp, extension block, incoming view) by our sequence;
        #: the views are shared by every leg of the producer
        self._history: list[tuple[Any, ...] | None] = [None] * (HISTORY_SIZE if video else 0)

    @property
    def ext_map(self) -> dict[int, int]:
        """Incoming extension id -> this leg's id; ids not in it are dropped."""
        return dict(self._ext_map)

    @ext_map.setter
    def ext_map(self, mapping: dict[int, int]) -> None:
        self._ext_map = dict(mapping)
        self._ext_key = tuple(sorted(self._ext_map.items()))

    def attach(self, path: SendPath) -> None:
        """Start sending on ``path`` (the leg is negotiated)."""
        self.path = path

    def detach(self) -> None:
        """Stop sending and drop the history (the leg is closed)."""
        self.path = None
        self._history = [None] * len(self._history)

    def forward(self, view: RtpView) -> Verdict | None:
        """Rewrite one packet for this leg and send it."""
        path = self.path
        if path is None:
            return None
        if view.ssrc != self.src_ssrc or self.waiting_keyframe:
            if self.video and not view.keyframe_start:
                self.waiting_keyframe = True
                return Verdict.WAITING
            self._switch_source(view)
        seq = (view.seq + self.seq_offset) & 0xFFFF
        ts = (view.timestamp + self.ts_offset) & 0xFFFFFFFF
        ext = b""
        if view.extensions and self._ext_map:
            cached = view.ext_cache.get(self._ext_key)
            if cached is None:
                m = self._ext_map
                cached = view.ext_cache[self._ext_key] = build_extension_block(
                    [(m[i], v) for i, v in view.extensions if i in m])
            ext = cached
        # the plain packet is rebuilt from the view only when a NACK asks for it
        if self._history:
            self._history[seq & HISTORY_MASK] = (seq, ts, ext, view)
        max_seq = self.max_seq
        if max_seq is None or 0 < ((seq - max_seq) & 0xFFFF) < 0x8000:
            self.max_seq = seq
            self.last_ts = ts
        if path.send_rewritten(0x90 if ext else 0x80, (view.marker << 7) | self.pt, seq, ts,
                               self.ssrc, ext, view.payload):
            self.packets_sent += 1
            self.octets_sent += len(view.payload)
        elif path.congested and self.video:
            return Verdict.CONGESTED
        return None

    def _switch_source(self, view: RtpView) -> None:
        """Continue our sequence/timestamp space from the new source's packet."""
        self.waiting_keyframe = False
        if self.src_ssrc is not None and self.max_seq is not None:
            self.seq_offset = (self.max_seq + 1 - view.seq) & 0xFFFF
            self.ts_offset = (self.last_ts + self.ts_step - view.timestamp) & 0xFFFFFFFF
        elif self.max_seq is not None:
            self.seq_offset = (self.max_seq + 1 - view.seq) & 0xFFFF
        else:
            self.seq_offset = (self.seq_offset - view.seq) & 0xFFFF
        self.src_ssrc = view.ssrc

    def rebuild(self, seq: int) -> bytes | None:
        """The plain packet sent as ``seq`` (our numbering), None when it left the history."""
        entry = self._history[seq & HISTORY_MASK] if self._history else None
        if entry is None or entry[0] != seq:
            return None
        _, ts, ext, view = entry
        return rewrite(view, self.pt, seq, ts, self.ssrc, ext)


def fanout(view: RtpView, legs: tuple[Any, ...]) -> list[tuple[Any, int]] | None:
    """Forward ``view`` on every leg; the (leg, verdict) pairs to act on, or None."""
    out = None
    for leg in legs:
        verdict = leg.forward(view)
        if verdict:
            if out is None:
                out = []
            out.append((leg, verdict))
    return out
