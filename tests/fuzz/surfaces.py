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
protocols' parsers), ``sdp`` (offers: the checks before aiortc, and 1 in
50 of those that pass published on a real Participant), ``rtp`` (SRTP from an authenticated publisher, so the
SFU's own receive hook, packet view, Producer checks and forwarding legs
are reached, not only libsrtp's rejection), ``stun`` (a live aioice ICE
connection's socket, behind the glue's datagram screen) and ``image``
(the back office's image checks, Pillow included), ``api`` (the customer
call API over real HTTP) and ``pdf`` (the upload check of the bounded
child process, PyMuPDF). Seeds:
``tests/fuzz/corpus/<surface>/`` (recorded by ``record_corpus.py``).
"""

from __future__ import annotations

import asyncio
import json
import random
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from vidzzle_media.protocol import ProtocolError
from vidzzle_media.services.branding.images import ImageProblem
from vidzzle_media.sfu.participant import NegotiationError

CORPUS = Path(__file__).resolve().parent / "corpus"
#: ``busy``: the harness itself (not an input) makes the server work, e.g. a
#: fresh call to fuzz against; ``accepted``: the server took the last input
#: as a valid request (what that logs is the event log, not noise)
#: ``last_async``: the last input handed to async code (a task it started may fail later)
HARNESS: dict[str, Any] = {"busy": False, "accepted": False, "last_async": b""}
Feed = Callable[[bytes], Any]


@dataclass
class Surface:
    name: str
    corpus: str
    rejects: tuple[type[BaseException], ...]
    """The parser's documented "no": these escaping are not findings."""
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
    compiled receive hook -> Demux -> Intake (VP8 with RTX, Opus, H.264) ->
    two legs each, sent through real SendPaths to a UDP sink."""
    import pylibsrtp
    from sfu.standins import SilentUpstream, VerdictOwner, connected_dtls, drain, srtp_session, udp_sink

    from vidzzle_media.sfu import aiortc_glue, core
    from vidzzle_media.sfu.codec import CodecInfo
    from vidzzle_media.sfu.producer import Producer

    core.select(core.MediaCore.COMPILED)
    tx, rx = srtp_session(), srtp_session(inbound=True)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, local_addr=("127.0.0.1", 0))
    sink = udp_sink()

    demux = core.Demux(lambda reason: aiortc_glue.drop(reason))     # as the Participant has it
    for codec in (CodecInfo("video", "video/VP8", 90000, 96, rtx_payload_type=97,
                            header_extensions={1: "urn:ietf:params:rtp-hdrext:sdes:mid", 3: "x-a", 4: "x-b"}),
                  CodecInfo("audio", "audio/opus", 48000, 111),
                  CodecInfo("video", "video/H264", 90000, 102)):
        producer = Producer(codec.kind, codec, SilentUpstream())
        legs = []
        for i in range(2):
            owner = VerdictOwner(record=False)
            leg = core.Leg(owner, codec.kind == "video", codec.clock_rate // 30)
            owner.leg = leg
            leg.pt, leg.ssrc, leg.ext_map = codec.payload_type + 1, 0x5000 + i, {3: 2, 4: 5} if i else {}
            leg.attach(aiortc_glue.SendPath(connected_dtls(transport, sink.getsockname())))
            legs.append(leg)
        producer.intake.legs = tuple(legs)
        demux.by_pt[codec.payload_type] = producer.intake
        if codec.rtx_payload_type:
            demux.by_pt[codec.rtx_payload_type] = producer.intake

    passed: list[int] = [0]

    def original(data: bytes, addr: Any) -> None:
        passed[0] += 1

    hook = core.compiled_receiver(original, SimpleNamespace(_rx_srtp=rx), lambda host: True, demux)
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
        drain(sink)

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
    from sfu.standins import drain, udp_sink

    from vidzzle_media.sfu import aiortc_glue

    aiortc_glue.set_host_addresses(["127.0.0.1"])
    conn = aioice.Connection(ice_controlling=False, components=1)
    await conn.gather_candidates()
    aiortc_glue._bound_ice_backlog(conn)        # as install_receive_hook does
    conn.remote_username, conn.remote_password = "peer", "peerpasswordpeerpassword"
    protocol = conn._protocols[0]
    sink = udp_sink()
    addr = sink.getsockname()

    def feed(data: bytes) -> None:
        if aiortc_glue.screen(data, addr):
            protocol.datagram_received(data, addr)
        drain(sink)

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


FULL_OFFER_EVERY = 50
"""1 in this many offers that pass the checks also goes through a whole
publish (aiortc applies it and answers, sockets and all): ~10 ms each."""


async def _sdp() -> tuple[Feed, Callable[[], Awaitable[None]]]:
    """SDP offers as the room socket hands them over: parsed and checked
    (``parse_offer``, ``shape_offer``) every time, and now and then
    published on a real Participant (aiortc's own handling of what passed)."""
    from vidzzle_media.sfu import DefaultIce, IcePolicy
    from vidzzle_media.sfu.participant import Participant, parse_offer, shape_offer

    ice = IcePolicy(DefaultIce())
    passed = [0]

    async def publish(text: str) -> None:
        HARNESS["last_async"] = text.encode()
        participant = Participant("fuzz", ice)
        try:
            await participant.publish(text)
        finally:
            await participant.close()

    def feed(data: bytes) -> Any:
        text = data.decode("utf-8", "replace")
        shape_offer(parse_offer(text), "VP8")
        passed[0] += 1
        return publish(text) if passed[0] % FULL_OFFER_EVERY == 0 else None

    async def close() -> None:
        from vidzzle_media.sfu import aiortc_glue

        aiortc_glue.set_host_addresses(None)
    return feed, close


API_ROUTES = ["/api/calls", "/api/calls/{id}/ready", "/api/calls/{id}/callback", "/api/calls/{id}/leave",
              "/api/calls/{id}"]
CONTENT_TYPES = ["application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
                 "application/octet-stream"]


async def _api() -> tuple[Feed, Callable[[], Awaitable[None]]]:
    """The customer call API over real HTTP (the real app, SQLite file, a
    tenant with a flow and agents): the first byte of an input picks the
    route and content type, the rest is the body. The per-address rate
    limits are lifted (every input comes from one address); everything
    else, the ringing-call limits included, is the product's."""
    import tempfile

    from admin.helpers import make_tenant
    from aiohttp.test_utils import TestClient, TestServer
    from api.world import make_agents, make_flow, make_group

    from vidzzle_media import keys
    from vidzzle_media.api.ratelimit import RateLimiter
    from vidzzle_media.app import create_app
    from vidzzle_media.config import load_settings
    from vidzzle_media.services.calls import service as call_service

    # "ready" waits up to 3 s for the customer's media, which never comes here
    call_service.READY_WAIT_S = 0.02
    folder = Path(tempfile.mkdtemp(prefix="vidzzle-fuzz-"))
    settings = load_settings(None, environ={}, overrides={
        "server.data_dir": str(folder / "data"), "server.host": "127.0.0.1", "server.public_url": "http://127.0.0.1",
        "tls.enabled": False, "ice.host_addresses": ["127.0.0.1"], "relay.enabled": False})
    app = create_app(settings)
    client = TestClient(TestServer(app, access_log=None))
    await client.start_server()
    app[keys.LIMITS] = {name: RateLimiter(limit=10**9, window_s=60) for name in app[keys.LIMITS]}
    db = app[keys.DATABASE]
    tenant = await make_tenant(db, "Fuzz Cars")
    agents = await make_agents(db, tenant, 2, prefix="fuzz", notify_email=True)
    embed = await make_flow(db, tenant, [(await make_group(db, tenant, "Sales", agents), 20)], offer_callback="on")
    call: dict[str, str] = {}

    async def new_call() -> None:
        HARNESS["busy"] = True
        try:
            async with client.post("/api/calls", json={"embed_id": embed, "name": "Erika", "precheck": True}) as r:
                body = await r.json()
            if r.status == 201:
                call.update(id=body["call_id"], key=body["customer_key"])
        finally:
            HARNESS["busy"] = False

    await new_call()
    sent = [0]

    async def request(data: bytes) -> None:
        sent[0] += 1
        if sent[0] % 200 == 0:
            await new_call()
        route = API_ROUTES[data[0] % len(API_ROUTES)].replace("{id}", call.get("id", "x"))
        ctype = CONTENT_TYPES[(data[0] // len(API_ROUTES)) % len(CONTENT_TYPES)]
        headers = {"Content-Type": ctype, "X-Call-Key": call.get("key", "")}
        method = "GET" if route.count("/") == 3 and route != "/api/calls" else "POST"
        # the session, not TestClient.request: that keeps every response until the end
        async with client.session.request(method, client.make_url(route), data=data[1:], headers=headers) as r:
            await r.read()
            if r.status >= 500:
                raise AssertionError(f"HTTP {r.status} for {route} ({ctype})")
            HARNESS["accepted"] = r.status < 400

    def feed(data: bytes) -> Any:
        return request(data) if data else None

    async def close() -> None:
        await client.close()

    feed.extra_seeds = [bytes([0]) + json.dumps({"embed_id": embed, "name": "Erika", "precheck": True}).encode(),
                        bytes([1]) + json.dumps({"audio_only": True}).encode(),
                        bytes([2]) + json.dumps({"name": "Erika", "phone": "+49 171 1234567", "email": "e@example.com",
                                                 "preferred_time": "morgen 10 Uhr"}).encode(),
                        bytes([3]) + json.dumps({"media_problem": "denied"}).encode(),
                        bytes([12]) + b"embed_id=" + embed.encode() + b"&name=Erika"]  # type: ignore[attr-defined]
    return feed, close


PAGES_EVERY = 20
"""1 in this many PDFs is also rendered page by page at the video size."""


async def _pdf() -> tuple[Feed, Callable[[], Awaitable[None]]]:
    """An uploaded PDF as the bounded child process checks it (``pdf_probe.probe``,
    with the child's memory limit on this fuzz process): it must answer with a
    result for any bytes, never raise; a crash of this process is a finding
    (in the product the child dies, the server lives)."""
    import resource
    import tempfile

    import pymupdf

    from vidzzle_media.services.branding import pdf_probe

    folder = Path(tempfile.mkdtemp(prefix="vidzzle-fuzz-pdf-"))
    pages = folder / "pages"
    pages.mkdir()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (2 * 1024**3, hard))
    count = [0]

    def feed(data: bytes) -> None:
        count[0] += 1
        target = folder / "upload.pdf"
        target.write_bytes(data)
        result = pdf_probe.probe(str(target), str(folder / "thumb.png"), 50,
                                 str(pages) if count[0] % PAGES_EVERY == 0 else "", max_output=50 * 1024 * 1024)
        if not isinstance(result, dict) or not ("pages" in result or "error" in result):
            raise AssertionError(f"probe answered {result!r}")
        pymupdf.TOOLS.store_shrink(100)   # MuPDF's cache: the product's child never lives this long

    async def close() -> None:
        import shutil

        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        shutil.rmtree(folder, ignore_errors=True)
    return feed, close


SURFACES = {s.name: s for s in (
    Surface("pdf", "pdf", (), _pdf),
    Surface("api", "api", (), _api),
    Surface("sdp", "sdp", (NegotiationError,), _sdp),
    Surface("room_json", "room_json", (ProtocolError,), _room_json, json_aware=True),
    Surface("agent_json", "agent_json", (ProtocolError,), _agent_json, json_aware=True),
    Surface("rtp", "rtp", (), _rtp),
    Surface("stun", "stun", (), _stun),
    Surface("image", "image", (ImageProblem,), _image),
)}


