"""Consumer: one outgoing track on a subscriber's PC, fed by one Producer."""

from __future__ import annotations

import logging
import random
import time
import uuid
from typing import TYPE_CHECKING, Any

from aiortc.rtp import RtcpSdesPacket, RtcpSenderInfo, RtcpSourceInfo, RtcpSrPacket
from pyee.asyncio import AsyncIOEventEmitter

from . import aiortc_glue, stats
from .codec import ABS_SEND_TIME_URI, MID_URI
from .rtp import RtpView, build_extension_block, rewrite, wrap_rtx

if TYPE_CHECKING:
    from aiortc import RTCRtpTransceiver

    from .producer import Producer

log = logging.getLogger(__name__)

#: packets kept per leg for NACKs (a power of two: indexed by seq & mask)
HISTORY_SIZE = 1024
HISTORY_MASK = HISTORY_SIZE - 1
#: header extensions never forwarded (see ``_on_started``)
_STRIPPED_EXTENSIONS = frozenset({MID_URI, ABS_SEND_TIME_URI})
#: a waiting consumer re-asks for a key frame after this long
KEYFRAME_RETRY_S = 1.0


class Consumer(AsyncIOEventEmitter):
    """Rewrites a Producer's packets for one receiving leg and sends them.

    Per packet: key-frame gating (video), a new 12-byte header (payload type
    of this leg, sequence/timestamp offsets, this sender's ssrc), extensions
    remapped by URI (``mid`` dropped: the leg signals ssrcs), history for
    NACKs (answered with RTX when negotiated), SRTP protect and ``sendto``.
    The aiortc sender only provides the m-line, DTLS/SRTP and RTCP routing;
    its RTP loop is idled (``aiortc_glue.idle_sender``).

    Events: ``close`` (), ``ready`` () when the leg is negotiated and connected.
    """

    def __init__(self, producer: Producer, transceiver: RTCRtpTransceiver,
                 app_data: dict[str, Any] | None = None,
                 continuation: tuple[int, int, int] | None = None) -> None:
        super().__init__()
        self.id = uuid.uuid4().hex[:12]
        self.producer = producer
        self.kind = producer.kind
        self.transceiver = transceiver
        self.app_data = app_data or {}
        self.closed = False
        self.ready = False
        self.packets_sent = 0
        self.octets_sent = 0
        self.keyframe_requests = 0
        self.retransmits = 0
        self.nacks_forwarded = 0
        self._ssrc, self._rtx_ssrc = aiortc_glue.sender_ssrcs(transceiver.sender)
        self._cname = ""
        self._pt = producer.codec.payload_type
        self._rtx_pt: int | None = None
        self._ext_map: dict[int, int] = {}
        self._ext_key: tuple[tuple[int, int], ...] = ()
        self._path: aiortc_glue.SendPath | None = None
        self._waiting_keyframe = producer.kind == "video"
        self._waiting_since = time.monotonic()
        self._src_ssrc: int | None = None
        self._seq_offset = random.randint(0, 0x7FFF)
        self._ts_offset = random.randint(0, 0xFFFFFFFF)
        self._max_seq: int | None = None
        self._last_ts = 0
        self._rtx_seq = random.randint(0, 0x7FFF)
        #: (sequence, timestamp, extension block, incoming view) by our sequence;
        #: the views are shared by every leg of the producer
        self._history: list[tuple[Any, ...] | None] = [None] * HISTORY_SIZE
        self.on("error", lambda exc: log.error("%r: %s", self, exc))
        hooks = aiortc_glue.SenderHooks(
            on_started=self._on_started, on_nack=self._on_nack,
            on_keyframe=self.request_keyframe, rtcp_report=self._rtcp_report)
        #: set on a reused m-line: ready once the renegotiation is applied
        self.awaiting_activation = False
        if continuation is not None:
            # a reused m-line: same ssrc, so continue its sequence/timestamps
            self._max_seq, self._last_ts, self._rtx_seq = continuation
            self._src_ssrc = -1
        if aiortc_glue.is_idled(transceiver.sender):
            aiortc_glue.rebind_sender(transceiver.sender, hooks)
            self.awaiting_activation = aiortc_glue.sender_parameters(transceiver.sender) is not None
        else:
            aiortc_glue.idle_sender(transceiver.sender, hooks)
        producer.attach(self)

    def __repr__(self) -> str:
        return f"Consumer({self.id} of {self.producer.id})"

    @property
    def mid(self) -> str | None:
        return self.transceiver.mid

    # --- leg setup --------------------------------------------------------------

    def _on_started(self, parameters: Any) -> None:
        """aiortc started the sender: the answer is applied and DTLS is up."""
        if self.closed:
            return
        want = self.producer.codec
        for codec in parameters.codecs:
            if codec.mimeType.lower() == want.mime_type.lower():
                self._pt = codec.payloadType
                break
        for codec in parameters.codecs:
            if codec.mimeType.lower().endswith("/rtx") and str(codec.parameters.get("apt")) == str(self._pt):
                self._rtx_pt = codec.payloadType
        leg = {e.uri: e.id for e in parameters.headerExtensions}
        # mid: the leg signals ssrcs. abs-send-time: it is the PUBLISHER's
        # send time (wrong for this leg), and it makes every receiver run a
        # delay-based estimator and send REMB, which the SFU does not use:
        # measured, 20 receivers under load sent ~800 REMB/s, each ~30-90 us
        # in aiortc's generic RTCP path (docs/benchmarks.md, SFU fan-out)
        self._ext_map = {pid: leg[uri] for pid, uri in want.header_extensions.items()
                         if uri in leg and uri not in _STRIPPED_EXTENSIONS}
        self._ext_key = tuple(sorted(self._ext_map.items()))
        self._cname = parameters.rtcp.cname or ""
        self._path = aiortc_glue.send_path(self.transceiver.sender)
        self.ready = True
        self.emit("ready")
        if self._waiting_keyframe:
            self.request_keyframe()

    def activate(self) -> None:
        """The renegotiation that re-enabled this reused m-line is applied."""
        if self.awaiting_activation and not self.closed:
            self.awaiting_activation = False
            self._on_started(aiortc_glue.sender_parameters(self.transceiver.sender))

    def continuation(self) -> tuple[int, int, int]:
        """Output state a successor on the same m-line continues from."""
        max_seq = self._max_seq if self._max_seq is not None else (self._seq_offset - 1) & 0xFFFF
        return max_seq, self._last_ts, self._rtx_seq

    def request_keyframe(self) -> None:
        """The receiver (PLI/FIR) or the gate needs a key frame: ask upstream."""
        if self.closed:
            return
        self.keyframe_requests += 1
        self._waiting_since = time.monotonic()
        self.producer.request_keyframe()

    # --- media out ----------------------------------------------------------------

    def forward(self, view: RtpView) -> None:
        """Rewrite one packet for this leg and send it (the per-packet path:
        no allocations besides the history entry, no calls into aiortc)."""
        path = self._path       # set together with ``ready``
        if path is None or not self.ready:
            return
        if view.ssrc != self._src_ssrc or self._waiting_keyframe:
            if self.kind == "video" and not view.keyframe_start:
                self._waiting_keyframe = True
                if time.monotonic() - self._waiting_since > KEYFRAME_RETRY_S:
                    self.request_keyframe()
                return
            self._switch_source(view)
        seq = (view.seq + self._seq_offset) & 0xFFFF
        ts = (view.timestamp + self._ts_offset) & 0xFFFFFFFF
        ext = b""
        if view.extensions and self._ext_map:
            cached = view.ext_cache.get(self._ext_key)
            if cached is None:
                m = self._ext_map
                cached = view.ext_cache[self._ext_key] = build_extension_block(
                    [(m[i], v) for i, v in view.extensions if i in m])
            ext = cached
        # the plain packet is rebuilt from the view only when a NACK asks for it
        self._history[seq & HISTORY_MASK] = (seq, ts, ext, view)
        max_seq = self._max_seq
        if max_seq is None or 0 < ((seq - max_seq) & 0xFFFF) < 0x8000:
            self._max_seq = seq
            self._last_ts = ts
        if path.send_rewritten(0x90 if ext else 0x80, (view.marker << 7) | self._pt, seq, ts,
                               self._ssrc, ext, view.payload):
            self.packets_sent += 1
            self.octets_sent += len(view.payload)
        elif path.congested and self.kind == "video":
            # the socket's buffer is full: drop to the next key frame
            self._waiting_keyframe = True
            self.request_keyframe()

    def _switch_source(self, view: RtpView) -> None:
        """Continue our sequence/timestamp space from the new source's packet."""
        self._waiting_keyframe = False
        if self._src_ssrc is not None and self._max_seq is not None:
            self._seq_offset = (self._max_seq + 1 - view.seq) & 0xFFFF
            step = self.producer.codec.clock_rate // 30
            self._ts_offset = (self._last_ts + step - view.timestamp) & 0xFFFFFFFF
        elif self._max_seq is not None:
            self._seq_offset = (self._max_seq + 1 - view.seq) & 0xFFFF
        else:
            self._seq_offset = (self._seq_offset - view.seq) & 0xFFFF
        self._src_ssrc = view.ssrc

    # --- feedback from the receiver -------------------------------------------------

    def _on_nack(self, seq: int) -> None:
        if self.closed:
            return
        entry = self._history[seq & HISTORY_MASK]
        if entry is not None and entry[0] == seq and self._path is not None:
            _, ts, ext, view = entry
            packet = rewrite(view, self._pt, seq, ts, self._ssrc, ext)
            if self._rtx_pt is not None:
                packet = wrap_rtx(packet, self._rtx_pt, self._rtx_seq, self._rtx_ssrc)
                self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
            self._path.send_rtp(packet)
            self.retransmits += 1
        else:
            self.nacks_forwarded += 1
            self.producer.request_nack([(seq - self._seq_offset) & 0xFFFF])

    async def _rtcp_report(self) -> None:
        """Our SR: the publisher's NTP<->RTP mapping moved into our timestamps."""
        sr = self.producer.last_sr
        if self.closed or sr is None or not self.packets_sent:
            return
        ntp, rtp_ts = sr
        packets: list[Any] = [RtcpSrPacket(ssrc=self._ssrc, sender_info=RtcpSenderInfo(
            ntp_timestamp=ntp, rtp_timestamp=(rtp_ts + self._ts_offset) & 0xFFFFFFFF,
            packet_count=self.packets_sent & 0xFFFFFFFF, octet_count=self.octets_sent & 0xFFFFFFFF))]
        if self._cname:
            packets.append(RtcpSdesPacket(chunks=[RtcpSourceInfo(
                ssrc=self._ssrc, items=[(1, self._cname.encode())])]))
        await aiortc_glue.send_rtcp(self.transceiver.sender.transport, b"".join(bytes(p) for p in packets))

    # --- ownership ----------------------------------------------------------------------

    def close(self) -> None:
        """Stop forwarding; the owning Participant frees the m-line."""
        if self.closed:
            return
        self.closed = True
        self.ready = False
        stats.RETIRED.add(self)
        self.producer.detach(self)
        self._history = []
        self.emit("close")
        self.remove_all_listeners()
