"""The ONLY module that touches aiortc / aioice private attributes.

Packet-level forwarding (DESIGN.md "Packet-level forwarding") needs to reach
below aiortc's public API: the ICE socket callbacks, the SRTP sessions, the
nominated candidate pair and a few sender methods. Every such access is here,
so an upgrade of aiortc/aioice is checked against ONE file, and
``tests/sfu/test_glue.py`` fails loudly when a hooked attribute disappears.

Pinned: aiortc==1.16.0, aioice==0.13.0 (see pyproject.toml).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import aioice.ice
import pylibsrtp
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtp import RtcpPacket, is_rtcp

log = logging.getLogger(__name__)

#: versions this glue was written and measured against
AIORTC_VERSION = "1.16.0"
AIOICE_VERSION = "0.13.0"

#: (owner, attribute) pairs the glue relies on; checked by the glue test
HOOKED_ATTRIBUTES: list[tuple[Any, str]] = [
    (aioice.ice, "get_host_addresses"),
    (aioice.ice.Connection, "_protocols"),  # instance attribute, checked on instances
    (aioice.ice.Connection, "_nominated"),
    (aioice.ice.StunProtocol, "datagram_received"),
    (RTCDtlsTransport, "_rx_srtp"),
    (RTCDtlsTransport, "_tx_srtp"),
    (RTCDtlsTransport, "_handle_rtcp_data"),
    (RTCDtlsTransport, "_send_rtp"),
    (RTCRtpSender, "_run_rtp"),
    (RTCRtpSender, "_run_rtcp"),
    (RTCRtpSender, "_retransmit"),
    (RTCRtpSender, "_send_keyframe"),
    (RTCRtpSender, "_ssrc"),
    (RTCRtpSender, "_rtx_ssrc"),
    (RTCRtpSender, "_stream_id"),
    (RTCRtpReceiver, "_send_rtcp_pli"),
    (RTCRtpReceiver, "_send_rtcp_nack"),
    (Vp8Encoder, "_packetize"),
]

_original_get_host_addresses = aioice.ice.get_host_addresses


# --- ICE -------------------------------------------------------------------

def set_host_addresses(addresses: list[str] | None) -> None:
    """Make aioice gather host candidates only on ``addresses`` (None: restore).

    aioice looks ``get_host_addresses`` up at gather time and skips exactly
    127.0.0.1, so loopback-only operation needs this replacement. The
    replacement is process wide: host addresses are an install setting.
    """
    if not addresses:
        aioice.ice.get_host_addresses = _original_get_host_addresses
        return
    fixed = list(addresses)

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in fixed if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = get_host_addresses


def _ice_connections(pc: RTCPeerConnection) -> list[aioice.ice.Connection]:
    seen: dict[int, aioice.ice.Connection] = {}
    for t in pc.getTransceivers():
        conn = t.receiver.transport.transport.iceGatherer._connection
        seen[id(conn)] = conn
    return list(seen.values())


def dtls_transports(pc: RTCPeerConnection) -> list[RTCDtlsTransport]:
    """The distinct DTLS transports of a PC (one with bundlePolicy=MAX_BUNDLE)."""
    seen: dict[int, RTCDtlsTransport] = {}
    for t in pc.getTransceivers():
        seen[id(t.receiver.transport)] = t.receiver.transport
    return list(seen.values())


_PORT_RANGE: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar(
    "vidzzle_port_range", default=None)


def _patch_loop_for_port_ranges(loop: asyncio.AbstractEventLoop) -> None:
    """Wrap the loop's ``create_datagram_endpoint`` once: a port-0 bind made
    while ``_PORT_RANGE`` is set (in this task's context) binds in the range."""
    if getattr(loop, "_vidzzle_port_ranges", False):
        return
    real_create = loop.create_datagram_endpoint

    async def create(protocol_factory, local_addr=None, **kw):
        rng = _PORT_RANGE.get()
        if rng is None or local_addr is None or local_addr[1] != 0:
            return await real_create(protocol_factory, local_addr=local_addr, **kw)
        ports = list(range(rng[0], rng[1] + 1))
        random.shuffle(ports)
        last: OSError | None = None
        for port in ports:
            try:
                return await real_create(protocol_factory, local_addr=(local_addr[0], port), **kw)
            except OSError as exc:
                last = exc
        raise last or OSError("no free UDP port in range")

    loop.create_datagram_endpoint = create  # type: ignore[method-assign]
    loop._vidzzle_port_ranges = True


def bind_port_range(pc: RTCPeerConnection, port_min: int, port_max: int) -> None:
    """Bind the host candidates of ``pc`` inside [port_min, port_max].

    aioice always binds port 0. Its ``get_component_candidates`` is wrapped
    on the connection instance to set a context variable, and the loop's
    ``create_datagram_endpoint`` (patched once) turns port-0 binds made in
    that context into binds inside the range. Concurrent gathers of other
    PCs are unaffected (context variables are per task); TURN allocations
    (no local port) are untouched. Call between creating the transceivers
    and ``setLocalDescription`` (which gathers).
    """
    if not port_min or not port_max:
        return
    _patch_loop_for_port_ranges(asyncio.get_running_loop())
    for conn in _ice_connections(pc):
        if getattr(conn, "_vidzzle_ports", False):
            continue
        conn._vidzzle_ports = True
        original = conn.get_component_candidates

        async def gather(component: int, addresses: list[str], timeout: int = 5, _orig=original) -> list:
            token = _PORT_RANGE.set((port_min, port_max))
            try:
                return await _orig(component, addresses, timeout)
            finally:
                _PORT_RANGE.reset(token)

        conn.get_component_candidates = gather


def install_receive_hook(
    pc: RTCPeerConnection,
    allowed: Callable[[str], bool],
    on_rtp: Callable[[bytes], None] | None,
) -> None:
    """Wrap ``datagram_received`` of every ICE socket of ``pc`` (idempotent).

    - datagrams from a source address ``allowed`` rejects are dropped;
    - with ``on_rtp``, SRTP (not SRTCP) is unprotected with the DTLS
      transport's ``_rx_srtp`` and handed to ``on_rtp`` synchronously, so it
      never reaches aiortc's jitter buffer or decoder;
    - everything else (STUN, DTLS, SRTCP) goes on to aioice/aiortc unchanged.
    Call again after each ``setLocalDescription``: gathering adds sockets.
    """
    dtls_list = dtls_transports(pc)
    for conn in _ice_connections(pc):
        dtls = next((d for d in dtls_list if d.transport.iceGatherer._connection is conn), None)
        for protocol in list(conn._protocols):
            if getattr(protocol, "_vidzzle_hooked", False):
                continue
            protocol._vidzzle_hooked = True
            protocol.datagram_received = _make_receiver(protocol.datagram_received, dtls, allowed, on_rtp)


def _make_receiver(original, dtls, allowed, on_rtp):
    def datagram_received(data: bytes, addr: tuple) -> None:
        if not allowed(addr[0]):
            return
        if on_rtp is not None and dtls is not None and 127 < data[0] < 192 and len(data) > 12:
            srtp = dtls._rx_srtp
            if srtp is not None and not is_rtcp(data):
                try:
                    plain = srtp.unprotect(data)
                except pylibsrtp.Error:
                    return
                try:
                    on_rtp(plain)
                except Exception:  # never let forwarding kill the socket callback
                    log.exception("forwarding failed")
                return
        original(data, addr)

    return datagram_received


def install_datagram_filter(pc: RTCPeerConnection, drop: Callable[[bytes], bool]) -> None:
    """Drop incoming datagrams of ``pc`` for which ``drop(data)`` is true.

    For loss tests and the benchmark's ``--loss`` scenario (works on client
    and server PCs alike); call after ``setLocalDescription``.
    """
    for conn in _ice_connections(pc):
        for protocol in list(conn._protocols):
            original = protocol.datagram_received

            def datagram_received(data: bytes, addr: tuple, _orig=original) -> None:
                if not drop(data):
                    _orig(data, addr)

            protocol.datagram_received = datagram_received


def install_rtcp_observer(pc: RTCPeerConnection, on_rtcp: Callable[[list], None]) -> None:
    """Let ``on_rtcp(packets)`` see every RTCP compound packet the PC receives
    (used for the publisher's SRs), before aiortc routes it as usual."""
    for dtls in dtls_transports(pc):
        if getattr(dtls, "_vidzzle_rtcp", False):
            continue
        dtls._vidzzle_rtcp = True
        original = dtls._handle_rtcp_data

        async def handle(data: bytes, _orig=original) -> None:
            try:
                packets = RtcpPacket.parse(data)
            except Exception:
                packets = []
            if packets:
                try:
                    on_rtcp(packets)
                except Exception:
                    log.exception("rtcp observer failed")
            await _orig(data)

        dtls._handle_rtcp_data = handle


# --- send leg ----------------------------------------------------------------

class SendPath:
    """Cached (SRTP session, socket, remote address) of a connected transport.

    Refreshed when the nominated pair changes; ``send`` is synchronous.
    """

    __slots__ = ("_dtls", "_pair", "_transport", "_addr", "congested")

    #: above this many bytes queued in the socket transport, packets are
    #: dropped (bounded queue; the Consumer then waits for a key frame)
    MAX_BUFFERED = 256 * 1024

    def __init__(self, dtls: RTCDtlsTransport) -> None:
        self._dtls = dtls
        self._pair = None
        self._transport = None
        self._addr = None
        #: the last send was dropped because the socket buffer was full
        self.congested = False

    def send_rtp(self, packet: bytes) -> bool:
        """Protect and send one plain RTP packet; False when not connected."""
        dtls = self._dtls
        srtp = dtls._tx_srtp
        if srtp is None or dtls.state != "connected":
            return False
        pair = dtls.transport._connection._nominated.get(1)
        if pair is None:
            return False
        if pair is not self._pair:
            self._pair = pair
            self._transport = pair.protocol.transport
            self._addr = pair.remote_addr
        transport = self._transport
        if transport.get_write_buffer_size() > self.MAX_BUFFERED:
            self.congested = True
            return False
        self.congested = False
        try:
            transport.sendto(srtp.protect(packet), self._addr)
        except (pylibsrtp.Error, OSError, AttributeError):
            return False
        return True


def send_path(sender: RTCRtpSender) -> SendPath:
    return SendPath(sender.transport)


async def send_rtcp(transport: RTCDtlsTransport, data: bytes) -> None:
    """Send a plain RTCP compound packet (protected by aiortc)."""
    try:
        await transport._send_rtp(data)
    except ConnectionError:
        pass


def sender_ssrcs(sender: RTCRtpSender) -> tuple[int, int]:
    """(media ssrc, rtx ssrc) aiortc put in the SDP for this sender."""
    return sender._ssrc, sender._rtx_ssrc


class SenderHooks:
    """What a Consumer plugs into an idled aiortc sender."""

    def __init__(
        self,
        on_started: Callable[[Any], None],
        on_nack: Callable[[int], None],
        on_keyframe: Callable[[], None],
        rtcp_report: Callable[[], Awaitable[None]],
    ) -> None:
        self.on_started = on_started
        self.on_nack = on_nack
        self.on_keyframe = on_keyframe
        self.rtcp_report = rtcp_report


def idle_sender(sender: RTCRtpSender, hooks: SenderHooks) -> None:
    """Turn an aiortc sender into a shell whose media we write ourselves.

    ``_run_rtp`` idles (no encoder is ever created), ``_run_rtcp`` calls
    ``hooks.rtcp_report`` about once a second (SRs derived from the
    publisher's), ``_retransmit`` and ``_send_keyframe`` go to the hooks,
    and ``send()`` reports the negotiated parameters. Call before the
    sender is started (i.e. before the answer is applied). The hooks are
    looked up at call time: ``rebind_sender`` points a reused m-line's
    sender at a new Consumer.
    """
    sender._vidzzle_hooks = hooks
    sender._vidzzle_parameters = None
    rtp_started = sender._RTCRtpSender__rtp_started
    rtp_exited = sender._RTCRtpSender__rtp_exited
    rtcp_started = sender._RTCRtpSender__rtcp_started
    rtcp_exited = sender._RTCRtpSender__rtcp_exited

    async def run_rtp(codec) -> None:
        rtp_started.set()
        try:
            await asyncio.Future()
        except asyncio.CancelledError:
            pass
        finally:
            rtp_exited.set()

    async def run_rtcp() -> None:
        rtcp_started.set()
        try:
            while True:
                await asyncio.sleep(1.0)
                try:
                    await sender._vidzzle_hooks.rtcp_report()
                except Exception:
                    log.exception("rtcp report failed")
        except asyncio.CancelledError:
            pass
        finally:
            rtcp_exited.set()

    async def retransmit(sequence_number: int) -> None:
        sender._vidzzle_hooks.on_nack(sequence_number)

    def send_keyframe() -> None:
        sender._vidzzle_hooks.on_keyframe()

    original_send = sender.send

    async def send(parameters) -> None:
        await original_send(parameters)
        sender._vidzzle_parameters = parameters
        sender._vidzzle_hooks.on_started(parameters)

    sender._run_rtp = run_rtp
    sender._run_rtcp = run_rtcp
    sender._retransmit = retransmit
    sender._send_keyframe = send_keyframe
    sender.send = send


def sender_parameters(sender: RTCRtpSender) -> Any:
    """The parameters an idled sender was started with (None: not started,
    or not idled)."""
    return getattr(sender, "_vidzzle_parameters", None)


def is_idled(sender: RTCRtpSender) -> bool:
    return getattr(sender, "_vidzzle_hooks", None) is not None


def rebind_sender(sender: RTCRtpSender, hooks: SenderHooks) -> None:
    """Point an idled sender (a reused m-line) at new hooks."""
    sender._vidzzle_hooks = hooks


def set_stream_id(sender: RTCRtpSender, stream_id: str) -> None:
    """The msid stream of an m-line (aiortc uses one per PC).

    Browsers lip-sync the audio and video of one stream: a stream per
    publisher keeps participant A's audio from being synced to B's video.
    """
    sender._stream_id = stream_id


def sender_encoder(sender: RTCRtpSender) -> Any:
    """The sender's encoder (None: nothing was ever encoded by it)."""
    return sender._RTCRtpSender__encoder


def receiver_decoder_idle(receiver: RTCRtpReceiver) -> bool:
    """True when aiortc's receiver never got a frame into its decoder."""
    jb = receiver._RTCRtpReceiver__jitter_buffer
    return jb is None or jb._origin is None


async def send_pli(receiver: RTCRtpReceiver, media_ssrc: int) -> None:
    await receiver._send_rtcp_pli(media_ssrc)


async def send_nack(receiver: RTCRtpReceiver, media_ssrc: int, lost: list[int]) -> None:
    await receiver._send_rtcp_nack(media_ssrc, lost)


def vp8_packetize(buffer: bytes, picture_id: int) -> list[bytes]:
    """aiortc's VP8 payloader (descriptor with a 15-bit picture id)."""
    return Vp8Encoder._packetize(buffer, picture_id)


def check_hooks() -> list[str]:
    """Names of hooked attributes that no longer exist (class level)."""
    missing = []
    for owner, name in HOOKED_ATTRIBUTES:
        if name in ("_protocols", "_nominated", "_rx_srtp", "_tx_srtp", "_ssrc", "_rtx_ssrc", "_stream_id"):
            continue  # instance attributes: checked on live objects by the test
        if not hasattr(owner, name):
            missing.append(f"{getattr(owner, '__name__', owner)}.{name}")
    return missing
