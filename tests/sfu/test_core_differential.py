"""The compiled forwarding core against the Python reference: the same packets
in, byte-identical datagrams out.

Both cores get the same stream (through their own Intake: validation,
key-frame detection, RTX unwrapping, upstream loss tracking) with loss, reordering, duplicates,
source switches with and without a key frame, header extensions remapped
differently per leg (and remapped mid-stream), RTX, padding, CSRCs, a
two-byte extension profile, oversized packets, NACK rebuilds, an SRTP
session change, a new nominated pair, a disconnected spell, and a relay
path whose queue is full. Each core sends through the real ``SendPath``
(real pylibsrtp sessions with the same keys, real UDP sockets on
loopback); only aiortc's DTLS transport and ICE pair are plain objects
holding the attributes the glue reads. After every packet the legs'
state and verdicts must match; at the end, every datagram each receiver
got, in order.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import struct
from types import SimpleNamespace
from typing import Any

import pylibsrtp
import pytest

from vidzzle_media.sfu import aiortc_glue, core, intake, leg
from vidzzle_media.sfu.rtp import RtpView

from .standins import KEY, VerdictOwner, connected_dtls, drain, srtp_session, udp_sink

pytestmark = pytest.mark.skipif(not core.compiled_available(), reason="the compiled core is not built")

VP8, RTX = 96, 97


class Relay:
    """aioice's TurnTransport as the glue sees it: no socket, a queue size."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.queued = 0

    def sendto(self, data: bytes, addr: Any) -> None:
        self.sent.append(bytes(data))

    def get_write_buffer_size(self) -> int:
        return self.queued


class Side:
    """One core's world: sockets, a DTLS-shaped object, a SendPath per leg."""

    def __init__(self, transport: Any, receivers: list[socket.socket], relay: Relay) -> None:
        self.transport = transport
        self.receivers = receivers
        self.relay = relay
        self.got: list[list[bytes]] = [[] for _ in receivers]
        self.dtls: list[Any] = []
        self.paths: list[aiortc_glue.SendPath] = []

    def add_leg_path(self, receiver: int) -> aiortc_glue.SendPath:
        dtls = connected_dtls(self.transport, self.receivers[receiver].getsockname())
        self.dtls.append(dtls)
        path = aiortc_glue.SendPath(dtls)  # type: ignore[arg-type]
        self.paths.append(path)
        return path

    def drain(self) -> None:
        for got, rx in zip(self.got, self.receivers, strict=True):
            got.extend(drain(rx))


def vp8_payload(rng: random.Random, key: bool, start: bool, size: int) -> bytes:
    descriptor = bytes([0x90 if start else 0x80, 0x80, 0x80 | rng.randrange(128), rng.randrange(256)])
    if start and key:
        body = bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0xE0, 0x01])
    elif start:
        body = bytes([0x11, 0x02, 0x00])
    else:
        body = b""
    return descriptor + body + os.urandom(max(0, size - len(body)))


def one_byte_extensions(rng: random.Random) -> bytes:
    elements = b""
    for _ in range(rng.randrange(1, 5)):
        ext_id = rng.randrange(1, 15)
        length = rng.randrange(1, 5)
        elements += bytes([(ext_id << 4) | (length - 1)]) + os.urandom(length)
        if rng.random() < 0.2:
            elements += b"\x00"  # padding between elements
    elements += b"\x00" * (-len(elements) % 4)
    return struct.pack("!HH", 0xBEDE, len(elements) // 4) + elements


def packet(rng: random.Random, seq: int, ts: int, ssrc: int, key: bool, start: bool, size: int = 900) -> bytes:
    """A VP8 RTP packet with the odd things publishers send now and then."""
    csrcs = [rng.getrandbits(32) for _ in range(rng.choice([0, 0, 0, 1, 2]))]
    roll = rng.random()
    ext = b""
    if roll < 0.7:
        ext = one_byte_extensions(rng)
    elif roll < 0.75:   # a two-byte profile block: not parsed, not forwarded
        ext = struct.pack("!HH", 0x1000, 1) + bytes([3, 2, 0xAA, 0xBB])
    pad = rng.choice([0] * 9 + [rng.randrange(1, 30)])
    b0 = 0x80 | (0x10 if ext else 0) | (0x20 if pad else 0) | len(csrcs)
    marker = int(rng.random() < 0.3)
    header = struct.pack("!BBHII", b0, (marker << 7) | VP8, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc)
    header += b"".join(struct.pack("!I", c) for c in csrcs) + ext
    body = vp8_payload(rng, key, start, size)
    if pad:
        body += b"\x00" * (pad - 1) + bytes([pad])
    return header + body


def rtx_of(plain: bytes, rtx_seq: int, rtx_ssrc: int) -> bytes:
    view = RtpView(plain)
    b0 = plain[0] & ~0x20
    header = struct.pack("!BBHII", b0, (view.marker << 7) | RTX, rtx_seq, view.timestamp, rtx_ssrc)
    return header + plain[12:view.payload_start] + struct.pack("!H", view.seq) + view.payload


def stream(seed: int, count: int) -> list[tuple[str, Any]]:
    """The events both cores get: packets, NACKs, path changes, map changes."""
    rng = random.Random(seed)
    events: list[tuple[str, Any]] = []
    ssrc, seq, ts = rng.getrandbits(32), rng.randrange(65536), rng.getrandbits(32)
    sent: list[bytes] = []
    rtx_seq = rng.randrange(65536)
    held: bytes | None = None
    for i in range(count):
        if i == count // 4:
            events.append(("ext_map", 1, {1: 3, 2: 7, 4: 1, 9: 14}))
        if i == count // 3:
            events.append(("session", 0))             # a new SRTP session (DTLS renegotiated)
        if i == count // 2:
            events.append(("pair", 1))                # ICE nominated another pair
        if i == 2 * count // 3:
            events.append(("down", 2))                # DTLS not connected for a while
        if i == 2 * count // 3 + 40:
            events.append(("up", 2))
        if i == count // 5:
            events.append(("pause", True))            # the publisher's track paused: counted, not sent
        if i == count // 5 + 30:
            events.append(("pause", False))
        if i == 3 * count // 4:
            events.append(("relay", 0))               # the leg moves to a relay path
        if 3 * count // 4 + 10 <= i < 3 * count // 4 + 30:
            events.append(("relay_full", 0 if i < 3 * count // 4 + 20 else 1))
        if i and i % 700 == 0:                        # the publisher restarts: a new source
            ssrc, seq, ts = rng.getrandbits(32), rng.randrange(65536), rng.getrandbits(32)
            sent = []                                 # RTX repairs the current source only
        key = i % 120 < 1 or (i % 700 == 0 and rng.random() < 0.5) or rng.random() < 0.01
        if i == 700:
            key = False                               # the first restart starts without one: legs wait
        start = key or rng.random() < 0.25
        size = 1400 if rng.random() < 0.01 else rng.randrange(20, 1100)
        data = packet(rng, seq, ts, ssrc, key, start, size)
        if rng.random() < 0.01:                       # a VP8 descriptor cut short: never forwarded
            data = data[:RtpView(data).payload_start] + bytes([0x90])
        seq = (seq + 1) & 0xFFFF
        if start:
            ts = (ts + 3000) & 0xFFFFFFFF
        roll = rng.random()
        if roll < 0.03:
            continue                                  # lost
        if roll < 0.06 and held is None:
            held = data                               # sent late: reordered
            continue
        events.append(("rtp", data))
        sent.append(data)
        if held is not None and rng.random() < 0.5:
            events.append(("rtp", held))
            held = None
        if rng.random() < 0.02:
            events.append(("rtp", data))              # duplicate
        if rng.random() < 0.03 and sent:
            events.append(("rtp", rtx_of(rng.choice(sent[-50:]), rtx_seq, 0x5EED)))
            rtx_seq = (rtx_seq + 1) & 0xFFFF
        if rng.random() < 0.05:
            events.append(("nack", rng.randrange(4), rng.randrange(700)))
    return events


def leg_state(x: Any) -> tuple[Any, ...]:
    return (x.seq_offset, x.ts_offset, x.src_ssrc, x.max_seq, x.last_ts, bool(x.waiting_keyframe),
            x.packets_sent, x.octets_sent, x.pt, x.ssrc, x.ext_map)


def intake_state(x: Any) -> tuple[Any, ...]:
    return (x.media_ssrc, x.packets, x.keyframes, x.recovered, x.nacked, x.base_seq, x.max_seq, x.cycles,
            x.received, bool(x.paused))


class IntakeOwner:
    """The Producer as an Intake sees it: records what it is told."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def _on_new_source(self) -> None:
        self.events.append("new_source")

    def _on_nack(self, seqs: list[int]) -> None:
        self.events.append(("nack", list(seqs)))

    def _on_malformed(self) -> None:
        self.events.append("malformed")


class Core:
    """One forwarding core's classes."""

    def __init__(self, compiled: bool) -> None:
        from vidzzle_media.sfu import _fastpath

        lib: Any = _fastpath if compiled else None
        self.Leg = lib.Leg if compiled else leg.Leg
        self.View = lib.View if compiled else RtpView
        self.Intake = lib.Intake if compiled else intake.Intake
        self.Demux = lib.Demux if compiled else intake.Demux


async def make_side(impl: Core, maps: list[tuple[dict[int, int], bool]],
                    seed: int) -> tuple[Side, Any, list[Any]]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
    receivers = []
    for _ in range(len(maps) + 1):  # one spare: the pair change moves a leg there
        receivers.append(udp_sink())
    side = Side(transport, receivers, Relay())
    track = impl.Intake(IntakeOwner(), VP8, RTX, intake.Codec.VP8)
    random.seed(seed)   # both cores draw the same sequence and timestamp offsets
    legs = []
    for i, (mapping, video) in enumerate(maps):
        owner = VerdictOwner()
        x = impl.Leg(owner, video, 3000)
        owner.leg = x
        x.pt, x.ssrc, x.ext_map = 100 + i, 0x1000 + i, mapping
        x.attach(side.add_leg_path(i))
        legs.append(x)
    track.legs = tuple(legs)
    return side, track, legs


async def run(events: list[tuple[str, Any]], impl: Core, seed: int) -> dict[str, Any]:
    # three video legs with different extension maps, and an audio leg (no key-frame gate, no history)
    maps = [({1: 1, 2: 2, 3: 3, 4: 4, 5: 5}, True), ({2: 9, 5: 1, 11: 4}, True), ({}, True), ({1: 2}, False)]
    side, track, legs = await make_side(impl, maps, seed)
    trace: list[Any] = []
    rebuilt: list[Any] = []
    try:
        for n, event in enumerate(events):
            kind = event[0]
            if kind == "rtp":
                try:
                    view = impl.View(event[1])
                except ValueError:
                    continue
                track.receive(view, n * 0.004)     # a packet every 4 ms: NACKs are due every 10
                trace.append([intake_state(track)] + [leg_state(x) for x in legs])
            elif kind == "pause":
                track.paused = event[1]
            elif kind == "nack":
                x = legs[event[1]]
                seq = ((x.max_seq or 0) - event[2]) & 0xFFFF
                rebuilt.append(x.rebuild(seq))
            elif kind == "ext_map":
                legs[event[1]].ext_map = event[2]
            elif kind == "session":
                side.dtls[event[1]]._tx_srtp = srtp_session(bytes(reversed(KEY)))
            elif kind == "pair":
                dtls = side.dtls[event[1]]
                dtls.transport._connection._nominated[1] = SimpleNamespace(
                    protocol=SimpleNamespace(transport=side.transport), remote_addr=side.receivers[-1].getsockname())
            elif kind == "down":
                side.dtls[event[1]]._state = "closed"
            elif kind == "up":
                side.dtls[event[1]]._state = aiortc_glue._DTLS_CONNECTED
            elif kind == "relay":
                side.dtls[event[1]].transport._connection._nominated[1] = SimpleNamespace(
                    protocol=SimpleNamespace(transport=side.relay), remote_addr=("198.18.0.9", 3478))
            elif kind == "relay_full":
                side.relay.queued = (aiortc_glue.SendPath.MAX_BUFFERED + 1) if event[1] == 0 else 0
            if n % 50 == 0:
                side.drain()
                await asyncio.sleep(0)
        await asyncio.sleep(0.05)
        side.drain()
    finally:
        side.transport.close()
        for rx in side.receivers:
            rx.close()
    return {"datagrams": side.got, "relay": side.relay.sent, "trace": trace, "rebuilt": rebuilt,
            "verdicts": [x.owner.verdicts for x in legs], "intake": track.owner.events}


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_compiled_core_sends_what_the_reference_sends(seed):
    from vidzzle_media.sfu import _fastpath

    aiortc_glue_protect = aiortc_glue.srtp_function_address("srtp_protect")
    _fastpath.set_protect(aiortc_glue_protect)
    events = stream(seed, 3000)
    reference = await run(events, Core(compiled=False), seed)
    compiled = await run(events, Core(compiled=True), seed)

    # the scenario is not trivially empty: every kind of outcome happened
    assert sum(len(d) for d in reference["datagrams"]) > 5000
    assert reference["relay"] and any(r is not None for r in reference["rebuilt"])
    assert any(r is None for r in reference["rebuilt"])
    assert all(leg.Verdict.WAITING in v for v in reference["verdicts"][:3])
    assert not reference["verdicts"][3]           # audio never waits for a key frame
    assert leg.Verdict.CONGESTED in reference["verdicts"][0]
    assert len(reference["datagrams"][-1]) > 100  # the leg moved to the other pair sent there
    told = reference["intake"]
    assert told.count("new_source") >= 5 and "malformed" in told   # restarts (and a late packet of the old source)
    assert sum(1 for e in told if e[0] == "nack") > 20   # upstream loss asked for again

    assert reference["intake"] == compiled["intake"]

    for i, (a, b) in enumerate(zip(reference["trace"], compiled["trace"], strict=True)):
        assert a == b, f"leg state differs after packet event {i}"
    assert reference["verdicts"] == compiled["verdicts"]
    assert reference["rebuilt"] == compiled["rebuilt"]
    assert reference["relay"] == compiled["relay"]
    for a, b in zip(reference["datagrams"], compiled["datagrams"], strict=True):
        assert len(a) == len(b)
        assert a == b


def payload_checks(seed: int, count: int) -> list[bytes]:
    """Plain RTP whose payloads are VP8- and H.264-shaped, whole and broken."""
    rng = random.Random(seed)
    nal_heads = [5, 7, 1, 24, 28, 0, 25, 29, 31, 0x85]
    out = []
    for i in range(count):
        if rng.random() < 0.5:
            payload = vp8_payload(rng, rng.random() < 0.3, rng.random() < 0.5, rng.randrange(0, 40))
        else:
            head = rng.choice(nal_heads)
            body = os.urandom(rng.randrange(0, 30))
            if head == 24 and rng.random() < 0.7:      # STAP-A with whole (or cut) units
                body = b"".join(struct.pack("!H", len(u)) + u for u in
                                (bytes([rng.choice(nal_heads) & 0x1F]) + os.urandom(rng.randrange(0, 9))
                                 for _ in range(rng.randrange(1, 4))))
                body = body[:rng.randrange(len(body) + 1)] if rng.random() < 0.3 else body
            payload = bytes([head]) + body
        payload = payload[:rng.randrange(len(payload) + 1)] if rng.random() < 0.1 else payload
        pt = rng.choice([VP8, VP8, VP8, RTX, 111])
        ssrc = 7 if i < count // 2 else 8
        out.append(struct.pack("!BBHII", 0x80, pt, (i * 3 + rng.randrange(3)) & 0xFFFF, i, ssrc) + payload)
    return out


@pytest.mark.parametrize("codec", [intake.Codec.VP8, intake.Codec.H264, intake.Codec.OTHER])
def test_compiled_intake_checks_what_the_reference_checks(codec):
    """Payload checks, key-frame detection, RTX and loss tracking, without legs."""
    got, packets = [], payload_checks(int(codec) + 10, 3000)
    for impl in (Core(compiled=False), Core(compiled=True)):
        track = impl.Intake(IntakeOwner(), VP8, RTX, codec)
        states = []
        for n, data in enumerate(packets):
            view = impl.View(data)
            track.receive(view, n * 0.01)
            states.append((intake_state(track), bool(view.keyframe_start)))
        got.append((states, track.owner.events))
    assert got[0] == got[1]
    states, events = got[0]
    if codec != intake.Codec.OTHER:
        assert "malformed" in events and states[-1][0][2] > 50     # key frames found, garbage refused
    assert states[-1][0][3] > 100 and states[-1][0][4] > 100     # RTX unwrapped, loss asked for


def test_compiled_demux_hands_out_what_the_reference_hands_out():
    got, packets = [], payload_checks(3, 500) + [b"\x80" * 5, b"\x40" * 20]
    for impl in (Core(compiled=False), Core(compiled=True)):
        dropped: list[str] = []
        demux = impl.Demux(dropped.append)
        assert demux.last_media_at is None
        tracks = [impl.Intake(IntakeOwner(), pt, None, intake.Codec.OTHER) for pt in (VP8, 111)]
        demux.by_pt.update({VP8: tracks[0], 111: tracks[1]})
        for data in packets:
            demux(data)
        got.append((dropped, [intake_state(t) for t in tracks]))
        assert demux.last_media_at is not None
    assert got[0] == got[1]
    assert got[0][0] == ["malformed_rtp", "malformed_rtp"] and all(s[1] > 50 for s in got[0][1])


# --- the receive side: View (rtp.RtpView) and Receiver (aiortc_glue._make_receiver) ---------------

def hostile_variants(rng: random.Random, data: bytes) -> list[bytes]:
    """The packet cut short, with flipped bits, with random bytes in its header."""
    out = [data[:rng.randrange(len(data) + 1)]]
    flipped = bytearray(data)
    for _ in range(rng.randrange(1, 6)):
        flipped[rng.randrange(min(len(flipped), 40))] ^= 1 << rng.randrange(8)
    out.append(bytes(flipped))
    out.append(bytes([0x80 | rng.randrange(64)]) + os.urandom(rng.randrange(0, 60)))
    return out


def view_fields(impl: Any, data: bytes) -> Any:
    try:
        v = impl(data)
    except ValueError:
        return "ValueError"
    return (v.data, v.marker, v.payload_type, v.seq, v.timestamp, v.ssrc, v.payload_start, v.payload_end,
            v.payload, v.extensions, v.keyframe_start, v.ext_cache)


@pytest.mark.parametrize("seed", [5, 6])
def test_compiled_view_parses_what_the_reference_parses(seed):
    from vidzzle_media.sfu import _fastpath

    rng = random.Random(seed)
    inputs = [e[1] for e in stream(seed, 2000) if e[0] == "rtp"]
    inputs += [v for data in inputs[:1500] for v in hostile_variants(rng, data)]
    rejected = 0
    for data in inputs:
        a, b = view_fields(RtpView, data), view_fields(_fastpath.View, data)
        assert a == b, data.hex()
        rejected += a == "ValueError"
    assert 500 < rejected < len(inputs) - 1000     # both kinds were fed


STUN_BINDING = struct.pack("!HHI12s", 0x0001, 0, 0x2112A442, b"t" * 12)
MALFORMED_STUN = struct.pack("!HHI12s", 0x0001, 4, 0x2112A442, b"x" * 12) + struct.pack("!HH", 0x0024, 0)


def datagrams(seed: int) -> list[tuple[Any, ...]]:
    """What an ICE socket may get: our publisher's SRTP (some replayed, some
    too long), forged RTP, SRTCP-, DTLS- and STUN-shaped datagrams, junk, from
    allowed and refused addresses, while the SRTP session comes and goes."""
    rng = random.Random(seed)
    tx = srtp_session()
    out: list[tuple[Any, ...]] = []
    protected: list[bytes] = []
    for i, event in enumerate(e for e in stream(seed, 1500) if e[0] == "rtp"):
        host = "127.0.0.1" if rng.random() < 0.9 else f"198.18.{rng.randrange(2)}.{rng.randrange(90)}"
        addr = (host, 40000 + rng.randrange(3))
        if i == 600:
            out.append(("session", None))             # DTLS not done: everything goes to aiortc
        if i == 650:
            out.append(("session", "new"))            # a new session (same keys)
        try:
            sealed = tx.protect(event[1])
        except (pylibsrtp.Error, ValueError):         # a replay, or too long to protect
            continue
        protected.append(sealed)
        roll = rng.random()
        if roll < 0.03 and protected:
            out.append(("dgram", rng.choice(protected[-200:]), addr))    # a replay
        elif roll < 0.05:
            forged = bytearray(sealed)
            forged[-1] ^= 0xFF
            out.append(("dgram", bytes(forged), addr))
        elif roll < 0.07:
            out.append(("dgram", rng.choice([STUN_BINDING, MALFORMED_STUN, b"", bytes([70]) + os.urandom(20),
                                             bytes([22, 0xFE, 0xFD]) + os.urandom(30),
                                             bytes([0x80, 200]) + os.urandom(40),
                                             bytes([0x81, 205]) + os.urandom(30),
                                             bytes([0x80, 96]) + os.urandom(9),
                                             bytes([0x80, 96]) + os.urandom(1600)]), addr))
        out.append(("dgram", sealed, addr))
    return out


def run_receiver(events: list[tuple[Any, ...]], make: Any, monkeypatch: Any) -> list[Any]:
    record: list[Any] = []
    monkeypatch.setattr(aiortc_glue, "drop", lambda reason, addr=None: record.append(("drop", reason, addr)))
    monkeypatch.setattr(aiortc_glue, "report_forwarding_failure",
                        lambda exc: record.append(("failed", type(exc).__name__, str(exc))))

    def allowed(host: str) -> bool:
        record.append(("asked", host))
        return host.startswith("127.") or host.endswith(".7")

    def on_rtp(plain: bytes) -> None:
        record.append(("rtp", plain))
        if plain[3] == 0x2A:
            raise RuntimeError("a forwarding bug")

    def on_rtcp(data: bytes) -> None:
        record.append(("rtcp", data))
        if data[5] & 1:
            raise RuntimeError("an RTCP handling bug")

    def original(data: bytes, addr: Any) -> None:
        record.append(("aioice", data, addr))

    dtls = SimpleNamespace(_rx_srtp=srtp_session(inbound=True))
    hook = make(original, dtls, allowed, on_rtp, on_rtcp)
    for event in events:
        if event[0] == "session":
            dtls._rx_srtp = None if event[1] is None else srtp_session(inbound=True)
        else:
            hook(event[1], event[2])
    return record


def test_compiled_receiver_passes_what_the_reference_passes(monkeypatch):
    from vidzzle_media.sfu import _fastpath

    _fastpath.set_unprotect(aiortc_glue.srtp_function_address("srtp_unprotect"))
    events = datagrams(7)
    reference = run_receiver(events, aiortc_glue._make_receiver, monkeypatch)
    compiled = run_receiver(events, core.compiled_receiver, monkeypatch)
    kinds = {r[0] for r in reference}
    assert kinds == {"rtp", "rtcp", "aioice", "drop", "asked", "failed"}, kinds
    assert {r[1] for r in reference if r[0] == "drop"} >= {"unauthenticated_rtp", "unknown_protocol", "malformed_stun"}
    assert len(reference) == len(compiled)
    for i, (a, b) in enumerate(zip(reference, compiled, strict=True)):
        assert a == b, f"outcome {i} differs"
