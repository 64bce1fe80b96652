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
import collections
import contextvars
import functools
import ipaddress
import logging
import queue
import random
import re
import struct
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import aioice.ice
import aioice.stun
import ifaddr
import pylibsrtp
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, rtcrtpreceiver
from aiortc.codecs.vpx import Vp8Encoder
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcdtlstransport import State as _DtlsState
from aiortc.rtp import (
    RTCP_PSFB_FIR,
    RTCP_PSFB_PLI,
    RTCP_RTPFB_NACK,
    RtcpPacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
)

try:  # libsrtp called directly on the forward path (see SendPath); optional
    from pylibsrtp._binding import ffi as _srtp_ffi
    from pylibsrtp._binding import lib as _srtp_lib
    _SRTP_FAST = True
    _srtp_protect = _srtp_lib.srtp_protect
    _srtp_unprotect = _srtp_lib.srtp_unprotect
except (ImportError, AttributeError):  # pragma: no cover - other pylibsrtp builds
    _SRTP_FAST = False

log = logging.getLogger(__name__)

_DTLS_CONNECTED = _DtlsState.CONNECTED
_HEADER = struct.Struct("!BBHII")
#: pylibsrtp's room for the SRTP auth tag + MKI (SRTP_MAX_TRAILER_LEN)
_SRTP_TRAILER = 16 + 128
#: asyncio's datagram read size for the ICE sockets (stock: 256 KiB per
#: read); above any datagram WebRTC sends (DTLS/ICE stay below ~1500 bytes)
DATAGRAM_READ_SIZE = 4096

#: versions this glue was written and measured against
AIORTC_VERSION = "1.16.0"
AIOICE_VERSION = "0.13.0"

#: (owner, attribute) pairs the glue relies on; checked by the glue test
HOOKED_ATTRIBUTES: list[tuple[Any, str]] = [
    (aioice.ice, "get_host_addresses"),
    (aioice.ice.Connection, "_protocols"),  # instance attribute, checked on instances
    (aioice.ice.Connection, "_nominated"),
    (aioice.ice.Connection, "_queue"),  # instance attribute, checked on instances
    (aioice.ice.Connection, "data_received"),
    (aioice.ice.StunProtocol, "datagram_received"),
    (RTCDtlsTransport, "_rx_srtp"),
    (RTCDtlsTransport, "_tx_srtp"),
    (RTCDtlsTransport, "_handle_rtcp_data"),
    (RTCDtlsTransport, "_rtp_router"),       # instance attribute, checked on instances
    (RTCRtpSender, "_handle_rtcp_packet"),
    (RTCDtlsTransport, "_send_rtp"),
    (RTCRtpSender, "_run_rtp"),
    (RTCRtpSender, "_run_rtcp"),
    (RTCRtpSender, "_retransmit"),
    (RTCRtpSender, "_send_keyframe"),
    (RTCRtpSender, "_ssrc"),
    (RTCRtpSender, "_rtx_ssrc"),
    (RTCRtpSender, "_stream_id"),
    (RTCRtpReceiver, "_run_rtcp"),
    (RTCRtpReceiver, "_send_rtcp_pli"),
    (rtcrtpreceiver, "decoder_worker"),
    (RTCRtpReceiver, "_send_rtcp_nack"),
    (Vp8Encoder, "_packetize"),
    (RTCDtlsTransport, "_state"),  # instance attribute (an aiortc State member)
    (pylibsrtp.Session, "_srtp"),  # instance attributes: the fast SRTP path
    (pylibsrtp.Session, "_cdata"),
    (pylibsrtp.Session, "_buffer"),
]

#: pylibsrtp version the direct libsrtp calls were written against
PYLIBSRTP_VERSION = "1.0.0"
#: the largest plain RTP packet the forward path protects (pylibsrtp's
#: 1500-byte buffer less its trailer room); larger ones are dropped
MAX_PLAIN_RTP = 1500 - _SRTP_TRAILER


def srtp_function_address(name: str) -> int | None:
    """Address of libsrtp's ``srtp_protect`` or ``srtp_unprotect`` inside
    pylibsrtp's binding, for the compiled core (which calls the same libsrtp,
    not a copy); None when this pylibsrtp build does not expose it."""
    if not _SRTP_FAST:
        return None
    return int(_srtp_ffi.cast("uintptr_t", _srtp_ffi.addressof(_srtp_lib, name)))


def srtp_session_pointer(session: pylibsrtp.Session) -> int:
    """The ``srtp_t`` of a pylibsrtp session (for the compiled core)."""
    return int(_srtp_ffi.cast("uintptr_t", session._srtp[0]))



# --- closing ---------------------------------------------------------------

#: how long closing one PeerConnection may take before we stop waiting for it
PC_CLOSE_TIMEOUT_S = 5.0
_CONNECT_TASK = "RTCPeerConnection.__connect"


def _connect_tasks(pc: RTCPeerConnection) -> list[asyncio.Task[Any]]:
    """aiortc's own connect task(s) of ``pc`` that are still running.

    aiortc starts ``__connect`` with ensure_future and never awaits it; a PC
    closed while it connects makes that task fail with InvalidStateError,
    which asyncio then reports as "Task exception was never retrieved"."""
    found = []
    for task in asyncio.all_tasks():
        coro = task.get_coro()
        frame = getattr(coro, "cr_frame", None)
        if getattr(coro, "__qualname__", "") == _CONNECT_TASK and frame is not None \
                and frame.f_locals.get("self") is pc:
            found.append(task)
    return found


async def close_peer(pc: RTCPeerConnection, timeout: float = PC_CLOSE_TIMEOUT_S) -> None:
    """Close ``pc`` without waiting forever and without leaving an unretrieved
    error behind: a stop (of a call or the server) must end even if aiortc's
    close hangs (aiortc issue 283), and a connect cut short is expected."""
    connecting = _connect_tasks(pc)
    try:
        await asyncio.wait_for(pc.close(), timeout)
    except asyncio.TimeoutError:
        log.warning("a media connection did not close within %.0f s; left behind", timeout)
    for task in connecting:
        if not task.done():
            task.cancel()
    await asyncio.gather(*connecting, return_exceptions=True)


# --- ICE -------------------------------------------------------------------

CONTAINER_INTERFACES = re.compile(
    r"^(docker|br-|veth|virbr|vnet|cni|flannel|cali|vxlan|weave|podman|lxcbr|lxdbr|kube|cilium|tunl|genev)")
"""Bridges and virtual links of containers and VMs: their addresses are unreachable for a customer."""


def machine_addresses(use_ipv4: bool = True, use_ipv6: bool = True) -> list[str]:
    """The machine's addresses a customer could reach: every interface's,
    except loopback, link-local and those of container/VM bridges (aioice
    alone offers them all, e.g. docker0's 172.17.0.1, into every SDP)."""
    found = []
    for adapter in ifaddr.get_adapters():
        if CONTAINER_INTERFACES.match(adapter.name or ""):
            continue
        for ip in adapter.ips:
            text = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            try:
                address = ipaddress.ip_address(text.split("%")[0])
            except ValueError:
                continue
            if address.is_loopback or address.is_link_local or address.is_multicast or address.is_unspecified:
                continue
            if (address.version == 4 and use_ipv4) or (address.version == 6 and use_ipv6):
                found.append(str(address))
    return found


def set_host_addresses(addresses: list[str] | None) -> None:
    """Make aioice gather host candidates only on ``addresses`` (None or
    empty: on ``machine_addresses()``, the reachable ones).

    aioice looks ``get_host_addresses`` up at gather time and skips exactly
    127.0.0.1, so loopback-only operation needs this replacement. The
    replacement is process wide: host addresses are an install setting.
    """
    if not addresses:
        aioice.ice.get_host_addresses = machine_addresses
        return
    fixed = list(addresses)

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in fixed if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = get_host_addresses


def host_addresses() -> list[str]:
    """The addresses aioice gathers host candidates on (set_host_addresses, else every interface's)."""
    return aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True)


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

    async def create(protocol_factory: Any, local_addr: Any = None, **kw: Any) -> Any:
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

    loop.create_datagram_endpoint = create  # type: ignore[assignment]
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

        async def gather(component: int, addresses: list[str], timeout: int = 5, _orig: Any = original) -> list[Any]:
            token = _PORT_RANGE.set((port_min, port_max))
            try:
                return list(await _orig(component, addresses, timeout))
            finally:
                _PORT_RANGE.reset(token)

        conn.get_component_candidates = gather


def install_receive_hook(
    pc: RTCPeerConnection,
    allowed: Callable[[str], bool],
    on_rtp: Callable[[bytes], None] | None,
    inline_rtcp: bool = False,
) -> None:
    """Wrap ``datagram_received`` of every ICE socket of ``pc`` (idempotent).

    - datagrams from a source address ``allowed`` rejects are dropped
      (``allowed`` is asked once per source address, then cached);
    - with ``on_rtp``, SRTP (not SRTCP) is unprotected with the DTLS
      transport's ``_rx_srtp`` and handed to ``on_rtp`` synchronously, so it
      never reaches aiortc's jitter buffer or decoder;
    - with ``inline_rtcp``, SRTCP is handled right there too
      (:class:`InlineRtcp`: the receivers' NACK, PLI and FIR reach the
      idled senders' hooks without aioice's queue and aiortc's tasks);
    - everything else (STUN, DTLS, SRTCP otherwise) goes on to aioice/aiortc unchanged;
    - the socket's read size drops from asyncio's 256 KiB per datagram to
      ``DATAGRAM_READ_SIZE`` (DESIGN.md: receiving got ~3.7x faster).
    - with ``on_rtp``, aiortc starts no decoder thread and no RTCP loop for
      the PC's tracks (``_idle_receivers``): no packet ever reaches them.
    Call again after each ``setLocalDescription``: gathering adds sockets
    (and renegotiation tracks).
    """
    if on_rtp is not None:
        _idle_receivers(pc)
    dtls_list = dtls_transports(pc)
    for conn in _ice_connections(pc):
        _bound_ice_backlog(conn)
        dtls = next((d for d in dtls_list if d.transport.iceGatherer._connection is conn), None)
        for protocol in list(conn._protocols):
            if getattr(protocol, "_vidzzle_hooked", False):
                continue
            protocol._vidzzle_hooked = True
            transport = getattr(protocol, "transport", None)
            if transport is not None and hasattr(transport, "max_size"):
                transport.max_size = DATAGRAM_READ_SIZE
            on_rtcp = InlineRtcp(dtls) if inline_rtcp and dtls is not None else None
            protocol.datagram_received = receiver_factory(  # type: ignore[assignment]
                protocol.datagram_received, dtls, allowed, on_rtp, on_rtcp)


class InlineRtcp:
    """SRTCP from a PC's remote side, handled in the socket callback (an ICE socket's ``on_rtcp``).

    aiortc's path for an RTCP packet is aioice's queue, the ICE transport's
    receive task, the DTLS transport's and then one ``await`` per packet and
    recipient. For the subscribe PC (the receivers' RR, REMB, NACK and PLI:
    a few per receiver and second, more on loss) that was a fixed cost per
    participant. Here: unprotect (libsrtp), parse (aiortc's parser), route
    by ssrc (aiortc's router) and call the idled senders' hooks directly,
    as ``RTCRtpSender._handle_rtcp_packet`` would: NACK -> ``on_nack`` per
    sequence number, PLI/FIR -> ``on_keyframe``, a report block about the
    sender -> ``on_report`` (the Consumer's round-trip time). REMB has
    nothing to act on (no encoder). A recipient that is not an idled
    sender gets its packet the aiortc way, as a task.
    """

    __slots__ = ("dtls", "_tasks")

    def __init__(self, dtls: RTCDtlsTransport) -> None:
        self.dtls = dtls
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, data: bytes) -> None:
        try:
            plain = self.dtls._rx_srtp.unprotect_rtcp(data)
        except (pylibsrtp.Error, ValueError):
            drop("unauthenticated_rtcp")
            return
        try:
            packets = RtcpPacket.parse(plain)
        except ValueError:
            drop("malformed_rtcp")
            return
        router = self.dtls._rtp_router
        for packet in packets:
            for recipient in router.route_rtcp(packet):
                hooks = getattr(recipient, "_vidzzle_hooks", None)
                if hooks is None:
                    task = asyncio.ensure_future(recipient._handle_rtcp_packet(packet))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                elif isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
                    for seq in packet.lost:
                        hooks.on_nack(seq)
                elif isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
                    hooks.on_keyframe()
                elif isinstance(packet, (RtcpRrPacket, RtcpSrPacket)) and hooks.on_report is not None:
                    for report in packet.reports:
                        if report.ssrc == getattr(recipient, "_ssrc", None):
                            hooks.on_report(report)


#: frame queues of remote tracks whose RTP the receive hook takes
_UNDECODED: weakref.WeakSet[Any] = weakref.WeakSet()
_decoder_worker = rtcrtpreceiver.decoder_worker


def _idle_receivers(pc: RTCPeerConnection) -> None:
    """aiortc starts, per received track, a decoder thread and an RTCP loop
    when the PC connects. For a publish PC both would wait for packets that
    never come (the receive hook forwards the RTP before aiortc sees it):
    two idle threads per participant, created and joined with every join
    and leave, and a task per track waking every 0.5-1.5 s to find it has
    nothing to report (the Participant sends the receiver reports itself).
    Here, before the PC connects, the tracks' queues are marked, so the
    thread aiortc starts for them returns at once, and the receivers'
    RTCP loop becomes one that only waits to be stopped."""
    for transceiver in pc.getTransceivers():
        receiver = transceiver.receiver
        track = receiver.track
        if track is not None:
            _UNDECODED.add(track._queue)
        if not getattr(receiver, "_vidzzle_idle", False):
            receiver._vidzzle_idle = True
            receiver._run_rtcp = functools.partial(_idle_rtcp_loop, receiver)


async def _idle_rtcp_loop(receiver: RTCRtpReceiver) -> None:
    """``RTCRtpReceiver._run_rtcp`` for a receiver that never gets a packet:
    the events ``stop()`` waits for, and nothing else."""
    receiver._RTCRtpReceiver__rtcp_started.set()
    try:
        await asyncio.get_running_loop().create_future()
    except asyncio.CancelledError:
        pass
    finally:
        receiver._RTCRtpReceiver__rtcp_exited.set()


def receiver_rtcp_idle(receiver: RTCRtpReceiver) -> bool:
    """Whether aiortc's RTCP loop of ``receiver`` is the idle one."""
    return bool(getattr(receiver, "_vidzzle_idle", False))


def _decoder_worker_unless_hooked(loop: asyncio.AbstractEventLoop, input_q: queue.Queue[Any],
                                  output_q: asyncio.Queue[Any], decode_error: threading.Event) -> None:
    if output_q in _UNDECODED:
        return
    _decoder_worker(loop, input_q, output_q, decode_error)


rtcrtpreceiver.decoder_worker = _decoder_worker_unless_hooked


#: datagrams aioice may hold for aiortc's DTLS transport (which reads them
#: only once ICE is connected); beyond this they are dropped
MAX_ICE_BACKLOG = 256


def _bound_ice_backlog(conn: aioice.ice.Connection) -> None:
    """aioice queues every non-STUN datagram for its reader in an unbounded
    queue, and aiortc reads it only once ICE is connected: until then a
    flood of DTLS- or RTCP-shaped datagrams to a media port would grow
    memory without limit (found by bench/fuzz.py, the ``stun`` surface:
    150 MB per million datagrams). Past ``MAX_ICE_BACKLOG`` they are dropped."""
    if getattr(conn, "_vidzzle_bounded", False):
        return
    conn._vidzzle_bounded = True
    queue = conn._queue
    original = conn.data_received

    def data_received(data: bytes, component: int) -> None:
        if queue.qsize() >= MAX_ICE_BACKLOG:
            drop("ice_backlog")
            return
        original(data, component)

    conn.data_received = data_received


class _Unprotect:
    """``session.unprotect`` without pylibsrtp's per-call allocation."""

    __slots__ = ("session", "_srtp", "_cdata", "_buf", "_len", "_room")

    def __init__(self, session: Any) -> None:
        self.session = session
        # cffi objects of libsrtp's session (Any: pylibsrtp has no types for them)
        self._srtp: Any = None
        self._cdata: Any = None
        self._buf: Any = None
        self._len: Any = None
        self._room = 0
        if _SRTP_FAST and all(hasattr(session, a) for a in ("_srtp", "_cdata", "_buffer")):
            self._srtp, self._cdata, self._buf = session._srtp[0], session._cdata, session._buffer
            self._len = _srtp_ffi.new("int *")
            self._room = len(session._buffer)

    def __call__(self, data: bytes) -> bytes | None:
        n = len(data)
        if n > self._room:
            try:
                whole: bytes = self.session.unprotect(data)
                return whole
            except (pylibsrtp.Error, ValueError):
                return None
        self._buf[0:n] = data
        length = self._len
        length[0] = n
        if _srtp_unprotect(self._srtp, self._cdata, length):
            return None
        plain: bytes = self._buf[0:length[0]]
        return plain


DROPPED: collections.Counter[str] = collections.Counter()
"""Datagrams dropped before aioice/aiortc saw them, by reason (for /metrics)."""
_LOGGED_AT: dict[str, float] = {}
LOG_INTERVAL_S = 60.0


def drop(reason: str, addr: tuple[Any, ...] | None = None) -> None:
    """Count a dropped datagram; log at most one line per reason per minute
    (anyone on the internet can send datagrams to a media port)."""
    DROPPED[reason] += 1
    now = time.monotonic()
    if now - _LOGGED_AT.get(reason, -LOG_INTERVAL_S) >= LOG_INTERVAL_S:
        _LOGGED_AT[reason] = now
        log.info("media: dropped a datagram (%s) from %s; %d so far, logged at most once a minute",
                 reason, addr[0] if addr else "?", DROPPED[reason])


def screen(data: bytes, addr: tuple[Any, ...]) -> bool:
    """Whether a datagram may go on to aioice/aiortc (RFC 7983 demultiplexing):
    STUN (first byte 0-3), DTLS (20-63) and RTP/RTCP (128-191) pass, nothing
    else. aioice parses EVERY datagram as STUN first (what fails with a
    ValueError goes on to its data path), and lets other parse errors, e.g.
    a struct.error from an attribute that is too short, escape as a
    traceback per datagram; so any datagram on which that parse raises
    anything but ValueError is dropped here, whatever its first byte
    (found by bench/fuzz.py: an RTCP-looking datagram with a STUN cookie)."""
    if not data:
        drop("empty", addr)
        return False
    first = data[0]
    if not (first < 4 or 19 < first < 64 or 127 < first < 192):
        drop("unknown_protocol", addr)
        return False
    try:
        aioice.stun.parse_message(data)
    except ValueError:
        pass                     # not STUN: aioice hands it to the data path
    except Exception:
        drop("malformed_stun", addr)
        return False
    return True


def _make_receiver(original: Any, dtls: Any, allowed: Callable[[str], bool],
                   on_rtp: Callable[[bytes], None] | None,
                   on_rtcp: Callable[[bytes], None] | None = None) -> Callable[[bytes, tuple[Any, ...]], None]:
    verdicts: dict[str, bool] = {}
    unprotect: _Unprotect | None = None

    def datagram_received(data: bytes, addr: tuple[Any, ...]) -> None:
        nonlocal unprotect
        ok = verdicts.get(addr[0])
        if ok is None:
            ok = verdicts[addr[0]] = bool(allowed(addr[0]))
            if len(verdicts) > 64:  # bounded: spoofed sources cannot grow it
                verdicts.clear()
        if not ok:
            return
        # SRTP, not SRTCP (byte 1 of RTCP is 192-208: aiortc's is_rtcp): the hot path, checked first
        if on_rtp is not None and len(data) > 12 and 127 < data[0] < 192 and not 191 < data[1] < 209 \
                and dtls is not None:
            srtp = dtls._rx_srtp
            if srtp is not None:
                if unprotect is None or unprotect.session is not srtp:
                    unprotect = _Unprotect(srtp)
                plain = unprotect(data)
                if plain is None:      # not from our publisher (or a replay): SRTP says no
                    drop("unauthenticated_rtp", addr)
                    return
                try:
                    on_rtp(plain)
                except Exception as exc:  # never let forwarding kill the socket callback
                    report_forwarding_failure(exc)
                return
        # SRTCP (RFC 5761: RTP version, byte 1 is 192-208), once DTLS gave the keys
        if on_rtcp is not None and len(data) > 12 and 127 < data[0] < 192 and 191 < data[1] < 209 \
                and dtls is not None and dtls._rx_srtp is not None:
            try:
                on_rtcp(data)
            except Exception as exc:
                report_forwarding_failure(exc)
            return
        if screen(data, addr):     # everything else: STUN, DTLS, SRTCP, or junk
            original(data, addr)

    return datagram_received


#: makes an ICE socket's ``datagram_received`` (the forwarding core in use
#: sets it: this Python one, or the compiled ``_fastpath.Receiver``)
receiver_factory: Callable[..., Callable[[bytes, tuple[Any, ...]], None]] = _make_receiver


def report_forwarding_failure(exc: BaseException) -> None:
    """What a receive hook does when forwarding a packet raised."""
    log.error("forwarding failed", exc_info=exc)


def install_datagram_filter(pc: RTCPeerConnection, drop: Callable[[bytes], bool]) -> None:
    """Drop incoming datagrams of ``pc`` for which ``drop(data)`` is true.

    For loss tests and the benchmark's ``--loss`` scenario (works on client
    and server PCs alike); call after ``setLocalDescription``.
    """
    for conn in _ice_connections(pc):
        for protocol in list(conn._protocols):
            original = protocol.datagram_received

            def datagram_received(data: bytes, addr: tuple[Any, ...], _orig: Any = original) -> None:
                if not drop(data):
                    _orig(data, addr)

            protocol.datagram_received = datagram_received  # type: ignore[assignment]


def install_rtcp_observer(pc: RTCPeerConnection, on_rtcp: Callable[[list[Any]], None]) -> None:
    """Let ``on_rtcp(packets)`` see every RTCP compound packet the PC receives
    (used for the publisher's SRs), before aiortc routes it as usual."""
    for dtls in dtls_transports(pc):
        if getattr(dtls, "_vidzzle_rtcp", False):
            continue
        dtls._vidzzle_rtcp = True
        original = dtls._handle_rtcp_data

        async def handle(data: bytes, _orig: Any = original) -> None:
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

    The per-packet send of the forward path (DESIGN.md "Packet-level
    forwarding"), so it avoids aiortc's and pylibsrtp's generic code: the
    DTLS state is compared by identity (aiortc's ``state`` property formats
    an enum per call), the nominated-pair dict is kept (aioice never
    replaces it), the 12-byte header and the payload are written straight
    into libsrtp's buffer and protected there (pylibsrtp's ``protect``
    allocates an ``int *`` and copies the packet once more per call), and
    the datagram goes to the socket directly while asyncio has nothing
    queued for it (asyncio's ``sendto`` only adds checks on that path; on
    ``BlockingIOError`` or with a backlog the packet goes through the
    transport, so ordering and buffering stay asyncio's). Refreshed when
    the nominated pair or the SRTP session changes; ``send_*`` are
    synchronous.
    """

    __slots__ = ("_dtls", "_nominated", "_pair", "_transport", "_addr", "_sock_sendto",
                 "_session", "_srtp", "_cdata", "_buf", "_len", "_room", "_queued", "congested")

    #: above this many bytes queued in the socket transport, packets are
    #: dropped (bounded queue; the Consumer then waits for a key frame)
    MAX_BUFFERED = 256 * 1024

    def __init__(self, dtls: RTCDtlsTransport) -> None:
        self._dtls = dtls
        # aioice's and pylibsrtp's private objects, re-read by _refresh (Any: untyped internals)
        self._nominated: Any = None
        self._pair: Any = None
        self._transport: Any = None
        self._addr: Any = None
        self._sock_sendto: Any = None
        self._queued: Any = None
        self._session: Any = None
        self._srtp: Any = None
        self._cdata: Any = None
        self._buf: Any = None
        self._len: Any = None
        self._room = 0
        #: the last send was dropped because the socket buffer was full
        self.congested = False

    def _refresh(self) -> bool:
        """Re-read the nominated pair and SRTP session; False: cannot send."""
        dtls = self._dtls
        if dtls._state is not _DTLS_CONNECTED:
            return False
        if self._nominated is None:
            try:
                self._nominated = dtls.transport._connection._nominated
            except AttributeError:
                return False
        pair = self._nominated.get(1)
        session = dtls._tx_srtp
        if pair is None or session is None:
            return False
        self._pair = pair
        transport = self._transport = pair.protocol.transport
        self._addr = pair.remote_addr
        sock = getattr(transport, "_sock", None)
        self._sock_sendto = sock.sendto if sock is not None and hasattr(transport, "_buffer") else None
        # a pair on the server's own TURN allocation sends through aioice's
        # TurnTransport, which queues in tasks and has no write-buffer size
        self._queued = getattr(transport, "get_write_buffer_size", None)
        if session is not self._session:
            self._session = session
            fast = _SRTP_FAST and all(hasattr(session, a) for a in ("_srtp", "_cdata", "_buffer"))
            self._srtp = session._srtp[0] if fast else None
            self._cdata = session._cdata if fast else None
            self._buf = session._buffer if fast else None
            self._len = _srtp_ffi.new("int *") if fast else None
            self._room = len(session._buffer) - _SRTP_TRAILER if fast else 0
        return True

    def send_rtp(self, packet: bytes) -> bool:
        """Protect and send one plain RTP packet; False when not connected."""
        if self._dtls._state is not _DTLS_CONNECTED or self._nominated is None or \
                self._nominated.get(1) is not self._pair or self._dtls._tx_srtp is not self._session:
            if not self._refresh():
                return False
        n = len(packet)
        if self._srtp is not None and n <= self._room:
            self._buf[0:n] = packet
            return self._protect_send(n)
        try:
            return self._send(self._session.protect(packet))
        except (pylibsrtp.Error, ValueError):   # ValueError: longer than pylibsrtp's buffer
            return False

    def send_rewritten(self, b0: int, b1: int, seq: int, timestamp: int, ssrc: int,
                       ext: bytes, body: bytes) -> bool:
        """Send header(b0, b1, seq, timestamp, ssrc) + ext + body without
        building the plain packet first (it is written into libsrtp's buffer)."""
        if self._dtls._state is not _DTLS_CONNECTED or self._nominated is None or \
                self._nominated.get(1) is not self._pair or self._dtls._tx_srtp is not self._session:
            if not self._refresh():
                return False
        buf = self._buf
        pos = 12 + len(ext)
        n = pos + len(body)
        if buf is None or n > self._room:
            return self.send_rtp(_HEADER.pack(b0, b1, seq, timestamp, ssrc) + ext + body)
        _HEADER.pack_into(buf, 0, b0, b1, seq, timestamp, ssrc)
        if ext:
            buf[12:pos] = ext
        buf[pos:n] = body
        return self._protect_send(n)

    def target(self) -> tuple[Any, ...]:
        """What the compiled core needs to send on this path by itself.

        ``(dtls, connected)`` while it cannot send (the core asks again once
        ``dtls._state is connected``); otherwise ``(dtls, connected,
        nominated, pair, session, srtp, fd, family, host, port, backlog)``:
        the objects it compares by identity per packet to notice a change
        (then it asks again), libsrtp's session pointer, and the socket
        (fd -1: through :meth:`send_datagram` only, e.g. a TURN allocation)
        with the transport's queue (direct sends only while it is empty)."""
        if not self._refresh() or self._srtp is None:
            return (self._dtls, _DTLS_CONNECTED)
        fd, family, backlog = -1, 0, None
        if self._sock_sendto is not None:
            sock = self._transport._sock
            fd, family, backlog = sock.fileno(), int(sock.family), self._transport._buffer
        return (self._dtls, _DTLS_CONNECTED, self._nominated, self._pair, self._session,
                int(_srtp_ffi.cast("uintptr_t", self._srtp)), fd, family, self._addr[0], self._addr[1], backlog)

    def send_datagram(self, data: bytes) -> bool:
        """Send an already protected datagram (the compiled core's way when it
        cannot write to the socket itself)."""
        return self._send(data)

    def _protect_send(self, n: int) -> bool:
        length = self._len
        length[0] = n
        if _srtp_protect(self._srtp, self._cdata, length):
            return False  # libsrtp error (e.g. key exhausted): drop, like aiortc
        return self._send(self._buf[0:length[0]])

    def _send(self, data: bytes) -> bool:
        transport = self._transport
        sock_sendto = self._sock_sendto
        if sock_sendto is not None and not transport._buffer:
            try:
                sock_sendto(data, self._addr)
                self.congested = False
                return True
            except (BlockingIOError, InterruptedError):
                pass  # the transport queues it and waits for the socket
            except OSError:
                return False
        queued = self._queued
        if queued is not None and queued() > self.MAX_BUFFERED:
            self.congested = True
            return False
        self.congested = False
        try:
            transport.sendto(data, self._addr)
        except (OSError, AttributeError):
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
        on_report: Callable[[Any], None] | None = None,
    ) -> None:
        self.on_started = on_started
        self.on_nack = on_nack
        self.on_keyframe = on_keyframe
        self.rtcp_report = rtcp_report
        #: a receiver report block about this sender's ssrc (RtcpReceiverInfo)
        self.on_report = on_report


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

    async def run_rtp(codec: Any) -> None:
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

    async def send(parameters: Any) -> None:
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


def receiver_decoder_running(receiver: RTCRtpReceiver) -> bool:
    """Whether aiortc's decoder thread of ``receiver`` is alive."""
    thread = receiver._RTCRtpReceiver__decoder_thread
    return thread is not None and bool(thread.is_alive())


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
        if name in ("_protocols", "_nominated", "_queue", "_rx_srtp", "_tx_srtp", "_ssrc", "_rtx_ssrc", "_stream_id",
                    "_state", "_srtp", "_cdata", "_buffer", "_rtp_router"):
            continue  # instance attributes: checked on live objects by the test
        if not hasattr(owner, name):
            missing.append(f"{getattr(owner, '__name__', owner)}.{name}")
    return missing
