"""Fuzz surfaces: every parser that sees outside input, wired as the server wires it.

Each surface turns one input (bytes) into what the product does with such
bytes from outside, and names the errors that are the parser's documented
"no" (a ProtocolError for a bad socket message, an ImageProblem for a bad
upload). Anything else escaping, any exception the event loop reports
("Task exception was never retrieved"), any crash of the process, and
more than one log line per 1,000 inputs count against it
(``bench/fuzz.py`` drives them; ``tests/fuzz/test_fuzz_ci.py`` runs the
short version in CI).

Surfaces so far: ``room_json`` and ``agent_json`` (the two WebSocket
protocols' parsers), ``rtp`` (SRTP from an authenticated publisher, so the
SFU's own receive hook, packet view, Producer checks and forwarding legs
are reached, not only libsrtp's rejection), ``stun`` (a live aioice ICE
connection's socket, behind the glue's datagram screen) and ``image``
(the back office's image checks, Pillow included). Seeds:
``tests/fuzz/corpus/<surface>/`` (recorded by ``record_corpus.py``).
"""

from __future__ import annotations

import asyncio
import json
import random
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

CORPUS = Path(__file__).resolve().parent / "corpus"
Feed = Callable[[bytes], Any]


@dataclass
class Surface:
    name: str
    corpus: str
    rejects: tuple[type[BaseException], ...]
    setup: Callable[[], Awaitable[tuple[Feed, Callable[[], Awaitable[None]]]]]
    """Returns (feed, close); ``feed`` may be called many times between event-loop turns."""
    json_aware: bool = False


def seeds(corpus: str) -> list[bytes]:
    return [p.read_bytes() for p in sorted((CORPUS / corpus).glob("seed-*"))]


# --- the mutator -----------------------------------------------------------------------

INTERESTING = [0, 1, 0x7F, 0x80, 0xFF, 0x10, 0x20, 0x40]
JSON_VALUES: list[Any] = [None, True, False, 0, -1, 2**63, 2**64 + 1, 1.5e308, "", "x" * 300, "x" * 200_000,
                          [], {}, [[[[[]]]]], {"a": {"b": {}}}, "\u0000", "\ud800", "ü"]


def mutate(rng: random.Random, pool: list[bytes], json_aware: bool) -> bytes:
    """A seed with 1-4 byte-level mutations, or (JSON surfaces) a structural one."""
    data = rng.choice(pool)
    if json_aware and rng.random() < 0.5:
        try:
            obj = json.loads(data)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and obj:
            key = rng.choice(list(obj))
            roll = rng.random()
            if roll < 0.4:
                obj[key] = rng.choice(JSON_VALUES)
            elif roll < 0.6:
                del obj[key]
            elif roll < 0.8:
                obj["x" * rng.randrange(1, 40)] = rng.choice(JSON_VALUES)
            else:
                obj = [obj] if rng.random() < 0.5 else rng.choice(JSON_VALUES)
            try:
                return json.dumps(obj).encode()
            except ValueError:
                return data
    buf = bytearray(data)
    for _ in range(rng.randrange(1, 5)):
        roll = rng.random()
        n = len(buf)
        if n == 0 or roll < 0.1:
            buf[rng.randrange(n + 1) if n else 0:] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9)))
        elif roll < 0.35:
            buf[rng.randrange(n)] ^= 1 << rng.randrange(8)
        elif roll < 0.5:
            buf[rng.randrange(n)] = rng.choice(INTERESTING)
        elif roll < 0.6:
            i = rng.randrange(n)
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 17)))
        elif roll < 0.7:
            i = rng.randrange(n)
            del buf[i:i + rng.randrange(1, 17)]
        elif roll < 0.8:
            i = rng.randrange(n)
            buf[i:i] = buf[i:i + rng.randrange(1, 33)]
        elif roll < 0.9:
            other = rng.choice(pool)
            cut = rng.randrange(n)
            buf = buf[:cut] + other[rng.randrange(len(other) + 1):] if other else buf[:cut]
        else:
            del buf[rng.randrange(n):]
    return bytes(buf)


# --- surfaces ------------------------------------------------------------------------------

async def _room_json() -> tuple[Feed, Callable[[], Awaitable[None]]]:
    from vidzzle_media.signalling.messages import parse_client_message

    async def close() -> None:
        pass
    return parse_client_message, close


async def _agent_json() -> tuple[Feed, Callable[[], Awaitable[None]]]:
    from vidzzle_media.services.calls.agent_messages import parse_agent_message

    async def close() -> None:
        pass
    return parse_agent_message, close


async def _image() -> tuple[Feed, Callable[[], Awaitable[None]]]:
    from vidzzle_media.services.branding import images

    def feed(data: bytes) -> None:
        images.check_upload("header" if data[:1] == b"\x89" else "hero", data)
        images.square_picture(data)

    async def close() -> None:
        pass
    return feed, close


async def _rtp() -> tuple[Feed, Callable[[], Awaitable[None]]]:
    """Fuzzed plain RTP, SRTP-protected with the publisher's keys, into the
    compiled receive hook -> View -> Producer (VP8 with RTX, Opus, H.264) ->
    two legs each, sent through real SendPaths to a UDP sink."""
    import pylibsrtp

    from vidzzle_media.sfu import aiortc_glue, core
    from vidzzle_media.sfu.codec import CodecInfo
    from vidzzle_media.sfu.producer import Producer

    core.select(core.MediaCore.COMPILED)
    key = bytes(range(30))
    profile = pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80
    tx = pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile))
    rx = pylibsrtp.Session(pylibsrtp.Policy(key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND, srtp_profile=profile))
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setblocking(False)

    class Upstream:
        ssrc_free = True

        def request_keyframe(self, ssrc: Any) -> None:
            pass

        def request_nack(self, ssrc: Any, seqs: Any) -> None:
            pass

    class Owner:
        def __init__(self) -> None:
            self.leg: Any = None

        def on_verdict(self, verdict: int) -> None:
            if verdict == 2:
                self.leg.waiting_keyframe = True

    producers = {}
    for codec in (CodecInfo("video", "video/VP8", 90000, 96, rtx_payload_type=97,
                            header_extensions={1: "urn:ietf:params:rtp-hdrext:sdes:mid", 3: "x-a", 4: "x-b"}),
                  CodecInfo("audio", "audio/opus", 48000, 111),
                  CodecInfo("video", "video/H264", 90000, 102)):
        producer = Producer(codec.kind, codec, Upstream())
        legs = []
        for i in range(2):
            owner = Owner()
            leg = core.Leg(owner, codec.kind == "video", codec.clock_rate // 30)
            owner.leg = leg
            leg.pt, leg.ssrc, leg.ext_map = codec.payload_type + 1, 0x5000 + i, {3: 2, 4: 5} if i else {}
            pair = SimpleNamespace(protocol=SimpleNamespace(transport=transport), remote_addr=sink.getsockname())
            dtls = SimpleNamespace(_state=aiortc_glue._DTLS_CONNECTED, _tx_srtp=pylibsrtp.Session(pylibsrtp.Policy(
                key=key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND, srtp_profile=profile)),
                transport=SimpleNamespace(_connection=SimpleNamespace(_nominated={1: pair})))
            leg.attach(aiortc_glue.SendPath(dtls))  # type: ignore[arg-type]
            legs.append(leg)
        producer._legs = tuple(legs)
        producers[codec.payload_type] = producer
        if codec.rtx_payload_type:
            producers[codec.rtx_payload_type] = producer

    def on_rtp(plain: bytes) -> None:       # Participant._on_rtp
        try:
            view = core.View(plain)
        except ValueError:
            aiortc_glue.drop("malformed_rtp")
            return
        producer = producers.get(view.payload_type)
        if producer is not None:
            producer.receive(view)

    passed: list[int] = [0]

    def original(data: bytes, addr: Any) -> None:
        passed[0] += 1

    hook = core.compiled_receiver(original, SimpleNamespace(_rx_srtp=rx), lambda host: True, on_rtp)
    ssrcs = [0x1111, 0x2222, 0x3333]
    seqs = dict.fromkeys(ssrcs, 0)

    def feed(data: bytes) -> None:
        if len(data) >= 12 and data[0] >> 6 == 2:
            # the publisher's own streams, in order: libsrtp accepts them and
            # the SFU's parsers see the rest of the fuzzed packet
            ssrc = ssrcs[data[11] % 3]
            seqs[ssrc] = (seqs[ssrc] + 1) & 0xFFFF
            data = data[:2] + struct.pack("!H", seqs[ssrc]) + data[4:8] + struct.pack("!I", ssrc) + data[12:]
            try:
                data = tx.protect(data)
            except (pylibsrtp.Error, ValueError):
                return
        hook(data, ("127.0.0.1", 50000))
        try:
            while True:
                sink.recv(4096)
        except BlockingIOError:
            pass

    async def close() -> None:
        transport.close()
        sink.close()
    return feed, close


async def _stun() -> tuple[Feed, Callable[[], Awaitable[None]]]:
    """A live aioice ICE connection's socket, behind the glue's screen (as the
    server wires it): binding requests with the right credentials reach
    aioice's checks, the rest its parser."""
    import aioice
    import aioice.stun

    from vidzzle_media.sfu import aiortc_glue

    aiortc_glue.set_host_addresses(["127.0.0.1"])
    conn = aioice.Connection(ice_controlling=False, components=1)
    await conn.gather_candidates()
    conn.remote_username, conn.remote_password = "peer", "peerpasswordpeerpassword"
    protocol = conn._protocols[0]
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    sink.setblocking(False)
    addr = sink.getsockname()

    def feed(data: bytes) -> None:
        if aiortc_glue.screen(data, addr):
            protocol.datagram_received(data, addr)
        try:
            while True:
                sink.recv(4096)
        except BlockingIOError:
            pass

    async def close() -> None:
        await conn.close()
        sink.close()
        aiortc_glue.set_host_addresses(None)

    # valid requests for this connection join the recorded seeds
    request = aioice.stun.Message(message_method=aioice.stun.Method.BINDING, message_class=aioice.stun.Class.REQUEST)
    request.attributes["USERNAME"] = f"{conn.local_username}:peer"
    request.attributes["PRIORITY"] = 1853824767
    request.attributes["ICE-CONTROLLING"] = 0x1234
    request.attributes["USE-CANDIDATE"] = None
    request.add_message_integrity(conn.local_password.encode())
    request.add_fingerprint()
    feed.extra_seeds = [bytes(request)]  # type: ignore[attr-defined]
    return feed, close


SURFACES = {s.name: s for s in (
    Surface("room_json", "room_json", (), _room_json, json_aware=True),
    Surface("agent_json", "agent_json", (), _agent_json, json_aware=True),
    Surface("rtp", "rtp", (), _rtp),
    Surface("stun", "stun", (), _stun),
    Surface("image", "image", (), _image),
)}


def _rejections() -> None:
    """The documented "no" of each parser (imported late: the runner sets up logging first)."""
    from vidzzle_media.protocol import ProtocolError
    from vidzzle_media.services.branding.images import ImageProblem

    SURFACES["room_json"].rejects = (ProtocolError,)
    SURFACES["agent_json"].rejects = (ProtocolError,)
    SURFACES["image"].rejects = (ImageProblem,)
