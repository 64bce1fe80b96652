"""Consumer: one outgoing track on a subscriber's PC, fed by one Producer."""

from __future__ import annotations

import logging
import random
import time
import uuid
from typing import TYPE_CHECKING, Any

from aiortc.rtp import RtcpSdesPacket, RtcpSenderInfo, RtcpSourceInfo, RtcpSrPacket
from pyee.asyncio import AsyncIOEventEmitter

from . import aiortc_glue, core, stats
from .codec import ABS_SEND_TIME_URI, MID_URI
from .leg import Verdict
from .rtp import wrap_rtx

if TYPE_CHECKING:
    from aiortc import RTCRtpTransceiver

    from .producer import Producer

log = logging.getLogger(__name__)

#: header extensions never forwarded (see ``_on_started``)
_STRIPPED_EXTENSIONS = frozenset({MID_URI, ABS_SEND_TIME_URI})
#: a waiting consumer re-asks for a key frame after this long
KEYFRAME_RETRY_S = 1.0
#: retransmissions remembered for the repeat check (a power of two, by seq)
RESENT_SLOTS = 512
#: sender reports remembered for the round-trip time (the receiver reports the last one it got)
SR_REMEMBERED = 8


class Consumer(AsyncIOEventEmitter):
    """Rewrites a Producer's packets for one receiving leg and sends them.

    The per-packet work (key-frame gating, the new header, extensions
    remapped by URI, the NACK history, SRTP protect and the send) is the
    leg's (``self.leg``, :mod:`.leg`; compiled or reference, :mod:`.core`);
    the Consumer acts on its verdicts, answers NACKs (with RTX when
    negotiated) and sends sender reports. ``mid`` is dropped: the leg
    signals ssrcs. The aiortc sender only provides the m-line, DTLS/SRTP and
    RTCP routing; its RTP loop is idled (``aiortc_glue.idle_sender``).

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
        self.keyframe_requests = 0
        self.retransmits = 0
        self.nacks_forwarded = 0
        #: NACKs for a packet retransmitted less than one round trip ago (not answered again)
        self.nacks_repeated = 0
        #: smoothed round-trip time to the receiver in seconds, from its reports (None: not yet known)
        self.rtt: float | None = None
        self._resent: list[tuple[int, float] | None] = [None] * RESENT_SLOTS
        #: compact NTP time (RFC 3550 LSR) of our recent sender reports -> when we sent them
        self._sr_sent: dict[int, float] = {}
        self._ssrc, self._rtx_ssrc = aiortc_glue.sender_ssrcs(transceiver.sender)
        self._cname = ""
        self._rtx_pt: int | None = None
        #: the per-packet state and path (compiled or reference, see .core)
        self.leg = core.Leg(self, producer.kind == "video", producer.codec.clock_rate // 30)
        self.leg.pt = producer.codec.payload_type
        self.leg.ssrc = self._ssrc
        self._waiting_since = time.monotonic()
        self._rtx_seq = random.randint(0, 0x7FFF)
        self.on("error", lambda exc: log.error("%r: %s", self, exc))
        hooks = aiortc_glue.SenderHooks(
            on_started=self._on_started, on_nack=self._on_nack,
            on_keyframe=self.request_keyframe, rtcp_report=self._rtcp_report, on_report=self._on_report)
        #: set on a reused m-line: ready once the renegotiation is applied
        self.awaiting_activation = False
        if continuation is not None:
            # a reused m-line: same ssrc, so continue its sequence/timestamps
            self.leg.max_seq, self.leg.last_ts, self._rtx_seq = continuation
            self.leg.src_ssrc = -1
        if aiortc_glue.is_idled(transceiver.sender):
            aiortc_glue.rebind_sender(transceiver.sender, hooks)
            self.awaiting_activation = aiortc_glue.sender_parameters(transceiver.sender) is not None
        else:
            aiortc_glue.idle_sender(transceiver.sender, hooks)
        producer.attach(self)

    def __repr__(self) -> str:
        return f"Consumer({self.id} of {self.producer.id})"

    @property
    def packets_sent(self) -> int:
        return int(self.leg.packets_sent)

    @property
    def octets_sent(self) -> int:
        return int(self.leg.octets_sent)

    @property
    def mid(self) -> str | None:
        return self.transceiver.mid

    # --- leg setup --------------------------------------------------------------

    def _on_started(self, parameters: Any) -> None:
        """aiortc started the sender: the answer is applied and DTLS is up."""
        if self.closed:
            return
        want = self.producer.codec
        leg = self.leg
        for codec in parameters.codecs:
            if codec.mimeType.lower() == want.mime_type.lower():
                leg.pt = codec.payloadType
                break
        for codec in parameters.codecs:
            if codec.mimeType.lower().endswith("/rtx") and str(codec.parameters.get("apt")) == str(leg.pt):
                self._rtx_pt = codec.payloadType
        ids = {e.uri: e.id for e in parameters.headerExtensions}
        # mid: the leg signals ssrcs. abs-send-time: it is the PUBLISHER's
        # send time (wrong for this leg), and it makes every receiver run a
        # delay-based estimator and send REMB, which the SFU does not use:
        # measured, 20 receivers under load sent ~800 REMB/s, each ~30-90 us
        # in aiortc's generic RTCP path (docs/benchmarks.md, SFU fan-out)
        leg.ext_map = {pid: ids[uri] for pid, uri in want.header_extensions.items()
                       if uri in ids and uri not in _STRIPPED_EXTENSIONS}
        self._cname = parameters.rtcp.cname or ""
        leg.attach(aiortc_glue.send_path(self.transceiver.sender))
        self.ready = True
        self.emit("ready")
        if leg.waiting_keyframe:
            self.request_keyframe()

    def activate(self) -> None:
        """The renegotiation that re-enabled this reused m-line is applied."""
        if self.awaiting_activation and not self.closed:
            self.awaiting_activation = False
            self._on_started(aiortc_glue.sender_parameters(self.transceiver.sender))

    def continuation(self) -> tuple[int, int, int]:
        """Output state a successor on the same m-line continues from."""
        leg = self.leg
        max_seq = leg.max_seq if leg.max_seq is not None else (leg.seq_offset - 1) & 0xFFFF
        return max_seq, leg.last_ts, self._rtx_seq

    def request_keyframe(self) -> None:
        """The receiver (PLI/FIR) or the gate needs a key frame: ask upstream."""
        if self.closed:
            return
        self.keyframe_requests += 1
        self._waiting_since = time.monotonic()
        self.producer.request_keyframe()

    # --- media out ----------------------------------------------------------------

    def on_verdict(self, verdict: int) -> None:
        """The leg dropped a packet (the Producer passes on its verdict)."""
        if verdict == Verdict.WAITING:
            if time.monotonic() - self._waiting_since > KEYFRAME_RETRY_S:
                self.request_keyframe()
        elif verdict == Verdict.CONGESTED:
            # the socket's buffer is full: drop to the next key frame
            self.leg.waiting_keyframe = True
            self.request_keyframe()

    # --- feedback from the receiver -------------------------------------------------

    def _on_nack(self, seq: int) -> None:
        """Answer from the history, or ask upstream. A packet sent again less
        than one round trip ago is not sent again: the receiver cannot have
        got it yet. (A receiver that falls behind re-NACKs every hole with
        each new loss; answering each one made a late copy arrive more than
        100 packets after the hole, which aiortc's jitter buffer treats as a
        stream restart: docs/benchmarks.md, "Second mechanism". libwebrtc
        and mediasoup do the same.)"""
        if self.closed:
            return
        leg = self.leg
        path = leg.path
        packet = leg.rebuild(seq) if path is not None else None
        if packet is not None:
            now = time.monotonic()
            last = self._resent[seq % RESENT_SLOTS]
            if self.rtt is not None and last is not None and last[0] == seq and now - last[1] < self.rtt:
                self.nacks_repeated += 1
                return
            self._resent[seq % RESENT_SLOTS] = (seq, now)
            if self._rtx_pt is not None:
                packet = wrap_rtx(packet, self._rtx_pt, self._rtx_seq, self._rtx_ssrc)
                self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
            path.send_rtp(packet)
            self.retransmits += 1
        else:
            self.nacks_forwarded += 1
            self.producer.request_nack([(seq - leg.seq_offset) & 0xFFFF])

    def _on_report(self, report: Any) -> None:
        """A receiver report block about our ssrc: the round-trip time (RFC 3550
        6.4.1) from the LSR/DLSR of one of our recent sender reports."""
        sent = self._sr_sent.get(report.lsr)
        if sent is None or not report.lsr:
            return
        rtt = time.monotonic() - sent - report.dlsr / 65536
        if 0 <= rtt < 10:
            self.rtt = rtt if self.rtt is None else 0.875 * self.rtt + 0.125 * rtt

    async def _rtcp_report(self) -> None:
        """Our SR: the publisher's NTP<->RTP mapping moved into our timestamps."""
        sr = self.producer.last_sr
        if self.closed or sr is None or not self.packets_sent:
            return
        ntp, rtp_ts = sr
        self._sr_sent.pop((ntp >> 16) & 0xFFFFFFFF, None)       # the same publisher SR again: newest last
        self._sr_sent[(ntp >> 16) & 0xFFFFFFFF] = time.monotonic()
        while len(self._sr_sent) > SR_REMEMBERED:
            del self._sr_sent[next(iter(self._sr_sent))]
        packets: list[Any] = [RtcpSrPacket(ssrc=self._ssrc, sender_info=RtcpSenderInfo(
            ntp_timestamp=ntp, rtp_timestamp=(rtp_ts + self.leg.ts_offset) & 0xFFFFFFFF,
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
        self.leg.detach()
        self.emit("close")
        self.remove_all_listeners()
