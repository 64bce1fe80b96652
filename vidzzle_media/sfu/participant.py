"""Participant: one person in a Room, with a publish and a subscribe PC."""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable, Coroutine

from aiortc import RTCPeerConnection, RTCRtpCodecCapability, RTCRtpSender, RTCSessionDescription
from aiortc import sdp as aiortc_sdp
from aiortc.rtp import RTCP_PSFB_APP, RtcpPsfbPacket, RtcpRrPacket, RtcpSrPacket, pack_remb_fci
from pyee.asyncio import AsyncIOEventEmitter

from . import aiortc_glue, core
from .codec import CodecInfo, codec_from_sdp_media
from .consumer import Consumer
from .intake import Demux
from .producer import Producer

if TYPE_CHECKING:
    from .ice import IcePolicy

log = logging.getLogger(__name__)

#: how long the server waits for the answer to its subscribe offer
ANSWER_TIMEOUT_S = 15.0
#: bitrate announced to publishers with REMB (their encoder's ceiling)
MAX_VIDEO_BITRATE = 1_500_000
#: interval of receiver reports + REMB to publishers
FEEDBACK_INTERVAL_S = 1.0
#: candidates kept while the first subscribe answer is being applied
MAX_EARLY_CANDIDATES = 32


def _preferences(codec: CodecInfo) -> list[RTCRtpCodecCapability]:
    """Offer exactly the producer's codec (+ RTX): a pass-through cannot translate."""
    caps = RTCRtpSender.getCapabilities(codec.kind).codecs
    main = [c for c in caps if c.mimeType.lower() == codec.mime_type.lower()]
    if codec.name == "H264":
        main = [c for c in main if c.parameters.get("packetization-mode") == "1"] or main
    if not main:
        raise NegotiationError(f"codec {codec.mime_type} not supported")
    rtx = [c for c in caps if c.mimeType.lower().endswith("/rtx")]
    return main[:1] + rtx


class NegotiationError(ValueError):
    """An SDP could not be applied (hostile, malformed or out of order)."""


OFFERS_PER_MINUTE = 30
"""A browser renegotiates a few times per call (camera on/off, re-join); more is an attack."""


class OfferBudget:
    """Offers a participant may still make (refilled continuously)."""

    def __init__(self, per_minute: int = OFFERS_PER_MINUTE, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute, self.clock = per_minute, clock
        self.left, self.at = float(per_minute), clock()

    def spend(self) -> None:
        now = self.clock()
        self.left = min(self.per_minute, self.left + (now - self.at) * self.per_minute / 60)
        self.at = now
        if self.left < 1:
            raise NegotiationError("too many offers; wait a moment")
        self.left -= 1


def check_candidate(candidate: Any) -> None:
    """A remote candidate aioice can send to: a port above 65535 made its
    first check's sendto raise OverflowError, which asyncio treats as fatal
    for the socket (found by bench/fuzz.py)."""
    if not 0 < candidate.port < 65536:
        raise NegotiationError(f"candidate port {candidate.port} out of range")


def check_offer_shape(desc: Any) -> None:
    """Refuse an offer aiortc would accept and then fail on in a background
    task (an unretrieved exception per offer): every m-line needs a known
    kind, a unique, non-empty mid, ICE credentials, a DTLS fingerprint and
    candidates with real ports, and a BUNDLE group may name only mids the
    offer has."""
    mids = []
    for media in desc.media:
        if media.kind not in ("audio", "video", "application"):
            # aiortc makes no transport for it, and when it leads the BUNDLE
            # group its connect task fails on the others (bench/fuzz.py)
            raise NegotiationError(f"unknown media kind {media.kind[:20]!r}")
        mid = media.rtp.muxId if media.rtp is not None else ""
        if not mid or len(mid) > 32:
            raise NegotiationError("every m-line needs a mid")
        mids.append(mid)
        if media.ice is None or not media.ice.usernameFragment or not media.ice.password:
            raise NegotiationError(f"m-line {mid} has no ICE credentials")
        if media.dtls is None or not media.dtls.fingerprints:
            raise NegotiationError(f"m-line {mid} has no DTLS fingerprint")
        for candidate in media.ice_candidates:
            check_candidate(candidate)
    if len(set(mids)) != len(mids):
        raise NegotiationError("mids must be unique")
    for group in desc.group:
        if group.semantic == "BUNDLE" and (not group.items or not set(group.items) <= set(mids)):
            raise NegotiationError("the BUNDLE group names an m-line the offer does not have")


def parse_offer(offer_sdp: str) -> Any:
    """A client's offer as aiortc's SessionDescription (NegotiationError when
    it does not parse or carries neither audio nor video)."""
    try:
        desc = aiortc_sdp.SessionDescription.parse(offer_sdp)
    except Exception as exc:
        raise NegotiationError(f"unparsable offer: {exc}") from exc
    if not any(media.kind in ("audio", "video") for media in desc.media):
        raise NegotiationError("offer has no audio or video")
    return desc


def _apt(codec: Any) -> int | None:
    """The payload type an RTX codec repairs (None: missing or not a number,
    e.g. ``apt`` without a value: found by bench/fuzz.py)."""
    try:
        return int(codec.parameters.get("apt"))
    except (TypeError, ValueError):
        return None


def shape_offer(desc: Any, video_codec: str) -> None:
    """Check a parsed offer (``check_offer_shape``) and narrow it to the
    room's codecs (Opus; VP8 or H.264: a pass-through SFU cannot translate,
    so every leg of a room must share the codec) before aiortc sees it."""
    check_offer_shape(desc)
    wanted = {"audio": "opus", "video": video_codec.lower()}
    for media in desc.media:
        if media.kind in wanted:
            keep_pts = {c.payloadType for c in media.rtp.codecs
                        if c.mimeType.split("/")[1].lower() == wanted[media.kind]}
            keep_pts |= {c.payloadType for c in media.rtp.codecs if c.mimeType.lower().endswith("/rtx")
                         and _apt(c) in keep_pts}
            media.rtp.codecs = [c for c in media.rtp.codecs if c.payloadType in keep_pts]
            media.fmt = [pt for pt in media.fmt if pt in keep_pts]
        # aiortc writes a=rtcp-mux only next to an a=rtcp line, which
        # Firefox does not send: keep the round trip from losing it
        if media.rtcp_mux and media.rtcp_port is None:
            media.rtcp_port, media.rtcp_host = 9, "0.0.0.0"


class _ReceiverUpstream:
    """Feedback to a publishing browser through the aiortc receiver's RTCP."""

    def __init__(self, participant: Participant, receiver: Any) -> None:
        self._participant = participant
        self._receiver = receiver

    def request_keyframe(self, media_ssrc: int | None) -> None:
        if media_ssrc is not None:
            self._participant._spawn(aiortc_glue.send_pli(self._receiver, media_ssrc))

    def request_nack(self, media_ssrc: int, seqs: list[int]) -> None:
        self._participant._spawn(aiortc_glue.send_nack(self._receiver, media_ssrc, seqs))


class Participant(AsyncIOEventEmitter):
    """A person in a room. Owns its Producers and Consumers; ``close()`` cascades.

    Two peer connections (DESIGN.md "Browser interop"): the *publish* PC is
    only ever offered by the client (``publish``), the *subscribe* PC only by
    the server (``subscribe_offer`` event / ``subscribe_answer``), so there
    is no glare and no server re-offer on a client-offered PC.

    Events: ``producer`` (Producer), ``subscribe_offer`` (sdp: str,
    tracks: list[dict]), ``connectionstatechange`` (pc: str, state: str),
    ``statechange`` (state: str, see ``_update_state``),
    ``negotiation_error`` (exception), ``close`` ().
    """

    def __init__(self, room_id: str, ice: IcePolicy, video_codec: str = "VP8",
                 display_name: str = "", app_data: dict[str, Any] | None = None, id: str | None = None) -> None:
        super().__init__()
        self.id = id or uuid.uuid4().hex[:12]
        self.room_id = room_id
        self.display_name = display_name
        self.app_data = app_data or {}
        self.video_codec = video_codec.upper()
        self.producers: dict[str, Producer] = {}
        self.consumers: dict[str, Consumer] = {}
        self.muted: dict[str, bool] = {"audio": False, "video": False}
        self.closed = False
        #: new, connecting, connected, failed or closed (see ``_update_state``)
        self.state = "new"
        self._ice = ice
        self._publish_pc: RTCPeerConnection | None = None
        self._subscribe_pc = self._new_pc("subscribe")
        self._by_mid: dict[str, Producer] = {}
        #: the receive hook's ``on_rtp``: plain RTP to the producers' intakes by payload type
        self._demux: Demux = core.Demux(lambda reason: aiortc_glue.drop(reason))
        self._needs_negotiation = False
        self._negotiation: asyncio.Task[None] | None = None
        self._answer: asyncio.Future[str] | None = None
        self._answer_given = False
        #: inactive m-lines of departed producers, by (kind, codec), reusable
        self._free: dict[tuple[str, str], list[Any]] = {}
        self._feedback: asyncio.Task[None] | None = None
        self._rtcp_ssrc = random.randint(1, 0xFFFFFFFF)
        self._early_candidates: list[Any] = []
        self._publish_lock = asyncio.Lock()
        self._offers = OfferBudget()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.on("error", lambda exc: log.error("%r: %s", self, exc))

    def __repr__(self) -> str:
        return f"Participant({self.id} {self.display_name!r})"

    def _new_pc(self, name: str) -> RTCPeerConnection:
        pc = RTCPeerConnection(self._ice.configuration())

        @pc.on("connectionstatechange")
        def _state() -> None:
            self.emit("connectionstatechange", name, pc.connectionState)
            self._update_state()

        return pc

    def _update_state(self) -> None:
        """One state from both PCs; ``statechange`` is emitted only on change.

        ``failed`` if either PC failed, ``closed`` once closed, ``connected``
        when every existing PC is connected, else ``connecting``.
        """
        states = [pc.connectionState for pc in (self._publish_pc, self._subscribe_pc)
                  if pc is not None and pc.connectionState != "new"]
        if self.closed:
            state = "closed"
        elif "failed" in states:
            state = "failed"
        elif states and all(s == "connected" for s in states):
            state = "connected"
        else:
            state = "connecting" if states else "new"
        if state != self.state:
            self.state = state
            self.emit("statechange", state)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        if self.closed:
            coro.close()
            return
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- publishing (client offers) -------------------------------------------------

    async def publish(self, offer_sdp: str) -> str:
        """Apply the client's offer on the publish PC; return the answer SDP.

        Codecs are narrowed to the room's (Opus; VP8 or H.264) before aiortc
        sees the offer: a pass-through SFU cannot translate, so every leg of
        a room must share the codec. New m-lines become Producers.
        """
        async with self._publish_lock:
            if self.closed:
                raise NegotiationError("participant closed")
            desc = parse_offer(offer_sdp)
            self._offers.spend()
            shape_offer(desc, self.video_codec)
            if self._publish_pc is None:
                self._publish_pc = self._new_pc("publish")
            pc = self._publish_pc
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=str(desc), type="offer"))
                self._ice.before_gather(pc)
                await pc.setLocalDescription(await pc.createAnswer())
            except Exception as exc:
                raise NegotiationError(f"offer rejected: {exc!r}") from exc
            aiortc_glue.install_receive_hook(pc, self._ice.allowed_source, self._demux)
            aiortc_glue.install_rtcp_observer(pc, self._on_rtcp)
            self._add_producers(pc)
            if self._feedback is None:
                self._feedback = asyncio.ensure_future(self._publisher_feedback())
            return self._ice.announce(pc.localDescription.sdp)

    def _add_producers(self, pc: RTCPeerConnection) -> None:
        answer = aiortc_sdp.SessionDescription.parse(pc.localDescription.sdp)
        for media in answer.media:
            mid = media.rtp.muxId
            if media.kind not in ("audio", "video"):
                continue
            receiving = media.direction in ("recvonly", "sendrecv") and media.port != 0
            if mid in self._by_mid:
                if not receiving:  # the client stopped sending this track
                    producer = self._by_mid.pop(mid)
                    by_pt = self._demux.by_pt
                    for pt in [pt for pt, intake in by_pt.items() if intake is producer.intake]:
                        del by_pt[pt]
                    producer.close()
                continue
            if not receiving:
                continue
            codec = codec_from_sdp_media(media)
            transceiver = next((t for t in pc.getTransceivers() if t.mid == mid), None)
            if codec is None or transceiver is None:
                continue
            producer = Producer(media.kind, codec, _ReceiverUpstream(self, transceiver.receiver),
                                app_data={"participant_id": self.id, "source": "camera" if media.kind == "video" else "microphone"})
            producer.app_data["receiver"] = transceiver.receiver
            self._by_mid[mid] = producer
            self.producers[producer.id] = producer
            self._demux.by_pt[codec.payload_type] = producer.intake
            if codec.rtx_payload_type is not None:
                self._demux.by_pt[codec.rtx_payload_type] = producer.intake
            producer.once("close", lambda p=producer: self.producers.pop(p.id, None))
            self.emit("producer", producer)

    @property
    def last_media_at(self) -> float | None:
        """time.monotonic() of the last media packet from this participant (None: none yet)."""
        return self._demux.last_media_at

    def receiving(self, within_s: float = 1.0) -> bool | None:
        """Whether this participant's media reached the server within the
        last ``within_s`` (None: it publishes nothing, so nobody can tell)."""
        if not self.producers:
            return None
        return self.last_media_at is not None and time.monotonic() - self.last_media_at < within_s

    def _on_rtcp(self, packets: list[Any]) -> None:
        for packet in packets:
            if isinstance(packet, RtcpSrPacket):
                info = packet.sender_info
                for producer in self.producers.values():
                    producer.on_sender_report(packet.ssrc, info.ntp_timestamp, info.rtp_timestamp)

    async def _publisher_feedback(self) -> None:
        """RR (loss) for every incoming track and REMB for video, once a second.

        aiortc's receivers would send these from packets they route; the
        forward path bypasses them, and a browser without any feedback keeps
        its start bitrate. REMB announces ``MAX_VIDEO_BITRATE``; the
        browser's loss-based controller still reacts to the RR loss.
        """
        while not self.closed:
            await asyncio.sleep(FEEDBACK_INTERVAL_S)
            pc = self._publish_pc
            reports, video_ssrcs = [], []
            for producer in list(self.producers.values()):
                if producer.media_ssrc is None:
                    continue
                report = producer.reception.report(producer.media_ssrc, producer.intake)
                if report is not None:
                    reports.append(report)
                if producer.kind == "video":
                    video_ssrcs.append(producer.media_ssrc)
            if not reports or pc is None:
                continue
            data = bytes(RtcpRrPacket(ssrc=self._rtcp_ssrc, reports=reports[:31]))
            if video_ssrcs:
                data += bytes(RtcpPsfbPacket(fmt=RTCP_PSFB_APP, ssrc=self._rtcp_ssrc, media_ssrc=0,
                                             fci=pack_remb_fci(MAX_VIDEO_BITRATE, video_ssrcs)))
            for dtls in aiortc_glue.dtls_transports(pc):
                await aiortc_glue.send_rtcp(dtls, data)

    async def add_ice_candidate(self, pc_name: str, candidate: str, sdp_mid: str | None,
                                sdp_mline_index: int | None) -> None:
        """Trickled candidate from the client (aiortc's own are in the SDP)."""
        pc = self._publish_pc if pc_name == "publish" else self._subscribe_pc
        if not candidate:
            return  # end of candidates
        try:
            cand = aiortc_sdp.candidate_from_sdp(candidate.split(":", 1)[1] if candidate.startswith("candidate:") else candidate)
            cand.sdpMid = sdp_mid
            cand.sdpMLineIndex = sdp_mline_index
        except Exception as exc:
            raise NegotiationError(f"bad candidate: {exc!r}") from exc
        check_candidate(cand)
        if not self._ice.allowed_source(cand.ip):
            return
        if pc is self._subscribe_pc and pc.remoteDescription is None and (
                self._answer_given or self._answer is not None):
            # the client trickles while our first offer is outstanding (some
            # browsers fire icecandidate before their answer is even sent) or
            # right after its answer, not applied yet: keep them until it is
            if len(self._early_candidates) < MAX_EARLY_CANDIDATES:
                self._early_candidates.append(cand)
            return
        if pc is None or pc.remoteDescription is None:
            raise NegotiationError("candidate before description")
        await self._add_candidate(pc, cand)

    async def _add_candidate(self, pc: RTCPeerConnection, cand: Any) -> None:
        try:
            await pc.addIceCandidate(cand)
        except Exception as exc:
            raise NegotiationError(f"candidate rejected: {exc!r}") from exc

    def set_muted(self, kind: str, muted: bool) -> None:
        if kind not in self.muted:
            raise ValueError(f"bad kind {kind!r}")
        self.muted[kind] = bool(muted)

    # --- subscribing (server offers) ------------------------------------------------------

    def consume(self, producer: Producer) -> Consumer:
        """Create a Consumer of ``producer`` on a new sendonly m-line and renegotiate."""
        if self.closed:
            raise RuntimeError("participant closed")
        pc = self._subscribe_pc
        free = self._free.get((producer.kind, producer.codec.mime_type.lower()))
        if free:
            # reuse an m-line freed by a departed producer: the offer does not grow
            transceiver, continuation = free.pop(0)
            transceiver.direction = "sendonly"
        else:
            transceiver = pc.addTransceiver(producer.kind, direction="sendonly")
            transceiver.setCodecPreferences(_preferences(producer.codec))
            continuation = None
        aiortc_glue.set_stream_id(transceiver.sender, producer.app_data.get("participant_id") or producer.id)
        consumer = Consumer(producer, transceiver, app_data=dict(producer.app_data), continuation=continuation)
        consumer.app_data.pop("receiver", None)
        self.consumers[consumer.id] = consumer
        consumer.once("close", lambda: self._consumer_closed(consumer))
        self.negotiate()
        return consumer

    def _consumer_closed(self, consumer: Consumer) -> None:
        self.consumers.pop(consumer.id, None)
        if not self.closed:
            consumer.transceiver.direction = "inactive"
            key = (consumer.kind, consumer.producer.codec.mime_type.lower())
            self._free.setdefault(key, []).append((consumer.transceiver, consumer.continuation()))
            self.negotiate()

    def negotiate(self) -> None:
        """Flag "needs negotiation"; one loop runs offers until it is clear."""
        self._needs_negotiation = True
        if self._negotiation is None or self._negotiation.done():
            self._negotiation = asyncio.ensure_future(self._negotiate())

    async def _negotiate(self) -> None:
        pc = self._subscribe_pc
        while self._needs_negotiation and not self.closed:
            self._needs_negotiation = False
            try:
                offer = await pc.createOffer()
                self._ice.before_gather(pc)
                await pc.setLocalDescription(offer)
            except Exception:
                if not self.closed:
                    log.exception("%r: subscribe offer failed", self)
                return
            aiortc_glue.install_receive_hook(pc, self._ice.allowed_source, None, inline_rtcp=True)
            self._answer = asyncio.get_running_loop().create_future()
            self.emit("subscribe_offer", self._ice.announce(pc.localDescription.sdp), self.tracks())
            try:
                answer = await asyncio.wait_for(self._answer, ANSWER_TIMEOUT_S)
                await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
                for consumer in list(self.consumers.values()):
                    consumer.activate()
                early, self._early_candidates = self._early_candidates, []
                for cand in early:
                    try:
                        await self._add_candidate(pc, cand)
                    except NegotiationError as exc:
                        log.debug("%r: early candidate rejected: %s", self, exc)
            except asyncio.TimeoutError:
                log.warning("%r: no answer to subscribe offer", self)
                return
            except asyncio.CancelledError:
                return
            except Exception as exc:
                log.warning("%r: subscribe answer rejected: %r", self, exc)
                self.emit("negotiation_error", exc)
                return
            finally:
                self._answer = None

    def subscribe_answer(self, sdp: str) -> None:
        """The client's answer to the last subscribe offer."""
        if self._answer is None or self._answer.done():
            raise NegotiationError("no subscribe offer pending")
        self._answer_given = True
        self._answer.set_result(sdp)

    def tracks(self) -> list[dict[str, Any]]:
        """What each live m-line of the subscribe PC carries."""
        return [{"consumer_id": c.id, "producer_id": c.producer.id, "kind": c.kind, "mid": c.mid,
                 "participant_id": c.app_data.get("participant_id"), "source": c.app_data.get("source")}
                for c in self.consumers.values()]

    # --- ownership ------------------------------------------------------------------------------

    async def close(self) -> None:
        """Close producers (and so every Consumer fed by them), own Consumers, both PCs."""
        if self.closed:
            return
        self.closed = True
        for producer in list(self.producers.values()):
            producer.close()
        for consumer in list(self.consumers.values()):
            consumer.close()
        if self._negotiation is not None:
            self._negotiation.cancel()
        if self._feedback is not None:
            self._feedback.cancel()
            self._tasks.add(self._feedback)
        for task in list(self._tasks):
            task.cancel()
        pcs = [pc for pc in (self._publish_pc, self._subscribe_pc) if pc is not None]
        await asyncio.gather(*(aiortc_glue.close_peer(pc) for pc in pcs), return_exceptions=True)
        pending = [*self._tasks, *([self._negotiation] if self._negotiation is not None else [])]
        try:    # cancelled above; a task that ignores it must not hold up the close
            await asyncio.wait_for(asyncio.gather(*pending, return_exceptions=True), aiortc_glue.PC_CLOSE_TIMEOUT_S)
        except asyncio.TimeoutError:
            log.warning("participant %s: %d task(s) did not stop", self.id[:8], len(pending))
        self._update_state()
        self.emit("close")
        self.remove_all_listeners()
