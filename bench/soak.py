"""Soak: concurrent 1:1 calls with churn through the real server for a long time (issue 29).

    python3 bench/soak.py [--minutes 60] [--calls 10] [--client-procs 2] [--sample-s 60] [--json FILE]

What runs, all on loopback:

- the REAL server (``python -m vidzzle_media serve``) in its own process,
  with a fresh data directory, plain HTTP, ICE on 127.0.0.1, mail to an
  SMTP sink and webhooks allowed to loopback (``outbound.allow``);
- an SMTP sink (aiosmtpd) and a webhook sink (aiohttp), both in this
  process, counting what arrives;
- one tenant seeded before the server starts: per call slot an agent in a
  group of their own with a flow of its own, plus one colleague in every
  group who is offline and notified by mail (so every call that rings
  sends one mail), start and end webhooks to the sink, and a two-page
  presentation (rendered by the product's bounded child at upload);
- ``--calls`` slots, shared by ``--client-procs`` client processes (this
  script with ``--client``; one process cannot carry ten calls' media on
  this machine without dropping frames), each slot a loop of whole calls
  the way the product runs them: the customer (from an address of its own, 127.0.0.<10+slot>, as
  the public API counts per address) starts the call with the precheck,
  joins the room and publishes, says ``ready``; the agent's back-office
  socket rings, the agent accepts and joins; both publish a looped
  pre-encoded VP8 stream (``--size``, 30 fps, no encoding in the client)
  plus Opus and receive each other and the presentation; the agent turns a
  page every ``--page-s``; after a random 4-12 s one side ends the call
  (the customer leaves through the API, or the agent hangs up), both close,
  a short pause, and the next call.

Every ``--sample-s`` it records the server's RSS, open fds, asyncio tasks,
rooms, participants, outbox depth and retransmitted packets (``/metrics``), the server's and this
client process's CPU since the last sample, plus calls done, mails,
webhooks and frame gaps so far (camera tracks; RTP timestamps of counted
frames, ``bench/_clients.py``; the first few jumps are listed, with the
receiver, the timestamps and the time). Gaps counted after a call's end was
started are reported apart as ``teardown_gaps`` (``end_watch``), and every
SSRC change or timestamp jump of a camera's packets on the wire is listed
(``raw_events``: it tells the SFU's doing from the receiving client's). At the end it waits for the last rooms to
close and the outbox to drain and compares fds and tasks with the baseline
taken before the first call. Reported: RSS growth per minute after warm-up
(least squares over the samples after the first ``--warmup-min``), frame
gaps, failed calls with their reasons, mails and webhooks against the calls
that rang and were accepted, and the server's log lines at WARNING or above
(any traceback is listed). Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from fanout import machine  # noqa: E402

PAGE_PDF_PAGES = 2
#: open around the clock (an end of 23:59 closed the flows for the last
#: minute of the day: an hour-long soak crossed it)
ALL_DAY = {f"{day}_{key}": value for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                                             "sunday") for key, value in (("start", "00:00"), ("end", "24:00"))}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the sinks ------------------------------------------------------------------------------

@dataclass
class Sinks:
    """Mail and webhook receivers in this process."""

    mails: list[str] = field(default_factory=list)
    hooks: dict[str, int] = field(default_factory=lambda: {"start": 0, "end": 0, "unsigned": 0})
    smtp_port: int = 0
    hook_port: int = 0

    async def start(self) -> None:
        from aiohttp import web
        from aiosmtpd.controller import Controller

        sinks = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
                sinks.mails.append(envelope.rcpt_tos[0])
                return "250 OK"

        self.smtp_port = free_port()
        self._smtp = Controller(Handler(), hostname="127.0.0.1", port=self.smtp_port)
        self._smtp.start()

        async def hook(request: web.Request) -> web.Response:
            await request.read()
            if not request.headers.get("webhook-signature", "").startswith("v1,"):
                self.hooks["unsigned"] += 1
            self.hooks[request.match_info["kind"]] += 1
            return web.Response(status=204)

        app = web.Application()
        app.router.add_post("/hook/{kind:start|end}", hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self.hook_port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.hook_port).start()

    async def stop(self) -> None:
        self._smtp.stop()
        await self._runner.cleanup()


# --- the world ------------------------------------------------------------------------------

@dataclass
class Seeded:
    embeds: list[str]
    agent_emails: list[str]


def two_page_pdf() -> bytes:
    import pymupdf

    doc = pymupdf.open()
    for i in range(PAGE_PDF_PAGES):
        doc.new_page().insert_text((72, 72), f"Seite {i + 1}", fontsize=36)
    return bytes(doc.tobytes())


def write_config(path: Path, data_dir: Path, port: int, sinks: Sinks) -> None:
    path.write_text(f"""
[server]
data_dir = "{data_dir}"
host = "127.0.0.1"
port = {port}
public_url = "http://127.0.0.1:{port}"
log_level = "INFO"

[tls]
enabled = false

[ice]
host_addresses = ["127.0.0.1"]

[smtp]
host = "127.0.0.1"
port = {sinks.smtp_port}
security = "none"

[outbound]
allow = ["127.0.0.0/8"]

[relay]
enabled = false
""")


async def seed(config: Path, slots: int, hook_base: str) -> Seeded:
    """The tenant, its people, flows, webhooks and presentation, written before the server starts."""
    from admin.helpers import make_tenant
    from api.world import make_agents, make_flow, make_group

    from vidzzle_media.config import load_settings
    from vidzzle_media.services.branding import presentations
    from vidzzle_media.services.outbox.webhooks import generate_secret
    from vidzzle_media.store import Database
    from vidzzle_media.store import webhook_settings as hook_store

    settings = load_settings(config, environ={})
    db = Database(settings.database_path)
    await db.open()
    try:
        tenant = await make_tenant(db, "Autohaus Soak")
        (colleague,) = await make_agents(db, tenant, 1, prefix="offline", notify_email=True)
        agents = await make_agents(db, tenant, slots, prefix="agent")
        embeds = []
        for i, agent in enumerate(agents):
            group = await make_group(db, tenant, f"Slot {i}", [agent, colleague])
            embeds.append(await make_flow(db, tenant, [(group, 120)], name=f"Slot {i}", hours=ALL_DAY))
        async with db.transaction() as conn:
            await hook_store.save_urls(conn, tenant, start_url=f"{hook_base}/hook/start", start_headers="",
                                       end_url=f"{hook_base}/hook/end", end_headers="", callback_url="",
                                       callback_headers="")
            await hook_store.save_secret(conn, tenant, generate_secret())
        await presentations.upload(db, tenant, two_page_pdf(), filename="soak.pdf")
        return Seeded(embeds, [f"agent{i}.t{tenant}@example.com" for i in range(slots)])
    finally:
        await db.close()


# --- the clients ----------------------------------------------------------------------------

@dataclass
class Totals:
    calls_done: int = 0
    calls_accepted: int = 0
    calls_rung: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    receivers: list = field(default_factory=list)    # RxStats of every camera track received

    def fail(self, reason: str) -> None:
        self.failures[reason] = self.failures.get(reason, 0) + 1

    @property
    def gaps(self) -> int:
        """Frames missing while the calls were up (see ``end_watch``)."""
        return sum(s.gaps_in_call if s.gaps_in_call is not None else s.gaps for s in self.receivers)

    @property
    def teardown_gaps(self) -> int:
        """Counted after a call's end was started, while its peers closed."""
        return sum(s.gaps - s.gaps_in_call for s in self.receivers if s.gaps_in_call is not None)

    @property
    def frames(self) -> int:
        return sum(s.frames for s in self.receivers)

    @property
    def gap_events(self) -> list[dict]:
        return [{**e, "teardown": s.gaps_in_call is not None and i >= s.events_in_call}
                for s in self.receivers for i, e in enumerate(s.gap_events)][:20]

    @property
    def raw_events(self) -> list[dict]:
        """SSRC changes and timestamp jumps on the wire (see ``watch_raw_packets``)."""
        return [e for s in self.receivers for e in s.raw_events][:20]


def end_watch(peers) -> None:
    """A call's end is being started: from here on its receivers' gaps count
    as teardown. The peers then close their PCs, and aiortc unregisters a
    closing PC's receivers one by one: the presentation's last packets are
    learned to the camera's receiver by payload type (``RtpRouter.route_rtp``)
    and its jitter buffer emits a presentation frame, which the timestamps
    count as thousands of missing frames. Nobody watches that: the page is
    leaving the call."""
    for peer in peers:
        for stats in peer.cameras:
            stats.gaps_in_call, stats.events_in_call = stats.gaps, len(stats.gap_events)
            stats.watching = False


#: a camera receiver -> its stats, for the raw-packet watch
_WATCHED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: a jump of an incoming RTP timestamp bigger than this (90 kHz: 5 s) is recorded
RAW_JUMP = 5 * 90000


def watch_raw_packets() -> None:
    """Record, per watched receiver, every change of SSRC and every timestamp
    jump of the RTP packets as they arrive, before aiortc's jitter buffer and
    timestamp mapper: a frame-gap event then says whether the jump came in on
    the wire (from the SFU) or was made in the receiving client."""
    from aiortc.rtcrtpreceiver import RTCRtpReceiver

    original = RTCRtpReceiver._handle_rtp_packet

    async def handle(self, packet, arrival_time_ms: int) -> None:
        stats = _WATCHED.get(self)
        if stats is not None and stats.watching:
            last = stats.raw_last.get(packet.payload_type)
            if last is not None:
                jump = ((packet.timestamp - last[2] + 0x80000000) & 0xFFFFFFFF) - 0x80000000
                if (packet.ssrc != last[0] or abs(jump) > RAW_JUMP) and len(stats.raw_events) < 5:
                    stats.raw_events.append({"at": time.strftime("%H:%M:%S"), "receiver": stats.name,
                                             "pt": packet.payload_type, "from": last,
                                             "to": (packet.ssrc, packet.sequence_number, packet.timestamp)})
            stats.raw_last[packet.payload_type] = (packet.ssrc, packet.sequence_number, packet.timestamp)
        await original(self, packet, arrival_time_ms)

    RTCRtpReceiver._handle_rtp_packet = handle


def make_peer_class(frames: list[bytes], totals: Totals):
    import _clients as cl
    from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
    from aiortc.mediastreams import AudioStreamTrack
    from capacity import looped_track

    watch_raw_packets()

    class SoakPeer(cl.Peer):
        """A room participant: publishes the looped stream + Opus, receives the others;
        camera tracks are counted for gaps, the presentation and audio only received."""

        def __init__(self, *args) -> None:
            super().__init__(*args)
            self.sources: dict[str, str] = {}
            self.cameras: list = []     # RxStats of the camera tracks received
            self.sub = RTCPeerConnection(cl.config())
            self.pcs.append(self.sub)

            @self.sub.on("track")
            def on_track(track) -> None:
                transceiver = next(t for t in self.sub.getTransceivers() if t.receiver.track is track)
                mid = transceiver.mid
                if track.kind == "video":
                    stats = cl.RxStats(f"{self.name}:{self.sources.get(mid)}", False, {})
                    if self.sources.get(mid) == "camera":
                        totals.receivers.append(stats)
                        stats.raw_last, stats.raw_events, stats.watching = {}, [], True
                        stats.gaps_in_call, stats.events_in_call = None, 0
                        self.cameras.append(stats)
                        _WATCHED[transceiver.receiver] = stats
                    cl.count_frames(track, stats)

        async def on_message(self, data: dict) -> None:
            if data["type"] == "track_added":
                self.sources[data["mid"]] = data["source"]
            elif data["type"] == "offer" and data.get("pc") == "subscribe":
                sdp = await cl.answer_offer(self.sub, data["sdp"])
                await self.send({"type": "answer", "pc": "subscribe", "sdp": sdp})

        async def publish(self) -> None:
            pc = RTCPeerConnection(cl.config())
            self.pcs.append(pc)
            pc.addTransceiver(AudioStreamTrack(), direction="sendonly")
            t = pc.addTransceiver(looped_track(frames), direction="sendonly")
            t.setCodecPreferences([c for c in RTCRtpSender.getCapabilities("video").codecs
                                   if c.mimeType == "video/VP8"])
            await pc.setLocalDescription(await pc.createOffer())
            await self.send({"type": "offer", "pc": "publish", "sdp": pc.localDescription.sdp, "id": "pub"})
            answer = await self.expect("answer")
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))

    return SoakPeer


async def slot_loop(index: int, base: str, embed: str, agent_email: str, peer_class, totals: Totals,
                    connected: asyncio.Event, go: asyncio.Event, stop: asyncio.Event, page_s: float,
                    rnd: random.Random) -> None:
    """The agent logs in and opens the back-office socket (``connected``);
    from ``go`` on, whole calls one after the other until ``stop``."""
    from admin.helpers import Browser
    from aiohttp import ClientSession, TCPConnector
    from api.world import Agent

    browser = Browser(base + "/")
    page = await browser.login(agent_email)
    if page.status != 200:
        raise RuntimeError(f"agent {agent_email} cannot log in: {page.status}")
    agent = Agent(browser, 0)
    await agent.connect()
    connected.set()
    await go.wait()
    connector = TCPConnector(local_addr=(f"127.0.0.{10 + index}", 0))
    n = 0
    async with ClientSession(connector=connector) as http:
        try:
            while not stop.is_set():
                n += 1
                try:
                    await one_call(http, base, embed, agent, peer_class, totals, page_s, rnd, index, n)
                except Exception as exc:   # counted and reported; the slot goes on with the next call
                    totals.fail(f"{type(exc).__name__}: {str(exc)[:80]}")
                await asyncio.sleep(rnd.uniform(0.5, 2.0))
        finally:
            await agent.close()


async def one_call(http, base: str, embed: str, agent, peer_class, totals: Totals, page_s: float,
                   rnd: random.Random, index: int, n: int) -> None:
    async def post(path: str, body: dict) -> dict:
        async with http.post(base + path, json=body) as r:
            if r.status >= 300:
                raise RuntimeError(f"{path.split('/')[-1] or 'start'} {r.status}")
            return await r.json()

    started = await post("/api/calls", {"embed_id": embed, "name": f"Kunde {index}-{n}", "precheck": True})
    call_id, key = started["call_id"], started["customer_key"]
    customer = peer_class(http, base, "/ws/room", started["room_token"], f"customer{index}")
    agent_peer = None
    ended = False
    try:
        await customer.connect()
        await customer.publish()
        await post(f"/api/calls/{call_id}/ready", {"customer_key": key})
        ringing = await agent.next("ringing", timeout=15)
        if ringing["call_id"] != call_id:
            raise RuntimeError("rang for another call")
        totals.calls_rung += 1
        await agent.ws.send_json({"type": "accept", "call_id": call_id})
        result = await agent.next("result", timeout=15)
        if not result["ok"]:
            raise RuntimeError(f"accept refused: {result.get('status')}")
        totals.calls_accepted += 1
        agent_peer = peer_class(http, base, "/ws/room", result["room_token"], f"agent{index}")
        await agent_peer.connect()
        await agent_peer.publish()
        length = rnd.uniform(4.0, 12.0)
        deadline = time.monotonic() + length
        page = 1
        while time.monotonic() < deadline:
            await asyncio.sleep(min(page_s, max(0.0, deadline - time.monotonic())))
            page = page % PAGE_PDF_PAGES + 1
            await agent_peer.send({"type": "presentation", "command": "goto", "page": page})
        end_watch((customer, agent_peer))
        if n % 2:
            await post(f"/api/calls/{call_id}/leave", {"customer_key": key})
            ended = True
        else:
            await agent.ws.send_json({"type": "hangup", "call_id": call_id})
            hung = await agent.next("result", timeout=15)
            if not hung["ok"]:
                raise RuntimeError(f"hangup refused: {hung.get('status')}")
            ended = True
        errors = customer.errors + agent_peer.errors
        if errors:
            raise RuntimeError(f"room errors: {errors[:2]}")
        totals.calls_done += 1
    finally:
        if not ended:      # a failed call is given up the way the customer's page would
            async with http.post(f"{base}/api/calls/{call_id}/leave", json={"customer_key": key}):
                pass
        for p in (customer, agent_peer):
            if p is not None:
                await p.close()
        await agent.drain(0.01)
        agent.inbox = [m for m in agent.inbox if m["type"] not in ("ended", "customer_left", "accepted", "result")]


# --- sampling --------------------------------------------------------------------------------

def read_metrics(base: str) -> dict[str, float]:
    import urllib.request

    with urllib.request.urlopen(base + "/metrics", timeout=10) as r:
        text = r.read().decode()
    out: dict[str, float] = {"outbox_depth": 0.0}
    for name, key in (("process_resident_memory_bytes", "rss_mb"), ("process_open_fds", "fds"),
                      ("process_cpu_seconds_total", "cpu_s"),
                      ("vidzzle_asyncio_tasks", "tasks"), ("vidzzle_rooms", "rooms"),
                      ("vidzzle_participants", "participants"),
                      ("vidzzle_retransmitted_packets_total", "retransmits")):
        match = re.search(rf"^{name} (\S+)$", text, flags=re.M)
        if match is None:
            raise RuntimeError(f"no {name} in /metrics")
        out[key] = float(match.group(1)) / (1 << 20 if key == "rss_mb" else 1)
    for match in re.finditer(r'^vidzzle_outbox_depth\{kind="\w+"\} (\S+)$', text, flags=re.M):
        out["outbox_depth"] += float(match.group(1))
    return out


def slope_per_minute(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (minute, value)."""
    if len(points) < 2:
        return None
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    den = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / den if den else None


def log_findings(path: Path) -> dict:
    lines = path.read_text(errors="replace").splitlines()
    loud = [line for line in lines if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line)]
    tracebacks = [i for i, line in enumerate(lines) if line.startswith("Traceback") or "never retrieved" in line]
    return {"warning_or_worse": len(loud), "examples": loud[:10],
            "tracebacks": ["\n".join(lines[max(0, i - 1):i + 12]) for i in tracebacks[:5]]}


# --- the run ---------------------------------------------------------------------------------

def totals_json(totals: Totals) -> dict:
    return {"calls_done": totals.calls_done, "calls_rung": totals.calls_rung,
            "calls_accepted": totals.calls_accepted, "failures": totals.failures, "gaps": totals.gaps,
            "teardown_gaps": totals.teardown_gaps,
            "gap_events": totals.gap_events, "raw_events": totals.raw_events, "frames": totals.frames,
            "cpu_s": time.process_time()}


async def client_main(args: argparse.Namespace) -> None:
    """One client process: its slots' agents log in (CONNECTED), calls from GO until STOP
    (stdin), a STATUS line every few seconds and FINAL at the end (stdout, JSON)."""
    import capacity

    from vidzzle_media.sfu import aiortc_glue

    aiortc_glue.set_host_addresses(["127.0.0.1"])
    world = json.loads(Path(args.client).read_text())
    width, height = (int(x) for x in args.size.split("x"))
    frames = capacity.encoded_loop(width=width, height=height, bitrate=args.bitrate)
    totals = Totals()
    peer_class = make_peer_class(frames, totals)
    mine = [int(x) for x in args.slots.split(",")]
    connected = [asyncio.Event() for _ in mine]
    go, stop = asyncio.Event(), asyncio.Event()
    slots = [asyncio.create_task(slot_loop(i, world["base"], world["embeds"][i], world["emails"][i], peer_class,
                                           totals, c, go, stop, args.page_s, random.Random(args.seed * 1000 + i)))
             for i, c in zip(mine, connected, strict=True)]
    await asyncio.wait_for(asyncio.gather(*(c.wait() for c in connected)), 120)
    print("CONNECTED", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)          # GO
    go.set()
    stopping = loop.run_in_executor(None, sys.stdin.readline)     # STOP
    while not stopping.done():
        for t in slots:
            if t.done() and t.exception():
                raise t.exception()
        print("STATUS " + json.dumps(totals_json(totals)), flush=True)
        await asyncio.wait([stopping], timeout=2.0)
    stop.set()
    await asyncio.wait_for(asyncio.gather(*slots), 60)
    print("FINAL " + json.dumps(totals_json(totals)), flush=True)


class Clients:
    """The client processes, seen from the orchestrator."""

    def __init__(self, args: argparse.Namespace, world_file: Path) -> None:
        self.args, self.world_file = args, world_file
        self.procs: list[asyncio.subprocess.Process] = []
        self.latest: list[dict] = []
        self._readers: list[asyncio.Task] = []

    async def start(self) -> None:
        n = max(1, min(self.args.client_procs, self.args.calls))
        shares = [[i for i in range(self.args.calls) if i % n == k] for k in range(n)]
        for k, slots in enumerate(shares):
            proc = await asyncio.create_subprocess_exec(
                sys.executable, __file__, "--client", str(self.world_file), "--slots", ",".join(map(str, slots)),
                "--size", self.args.size, "--bitrate", str(self.args.bitrate), "--page-s", str(self.args.page_s),
                "--seed", str(self.args.seed), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
            self.procs.append(proc)
            self.latest.append({})
            line = (await asyncio.wait_for(proc.stdout.readline(), 180)).decode().strip()
            if line != "CONNECTED":
                raise RuntimeError(f"client {k} did not connect: {line!r}")
            self._readers.append(asyncio.create_task(self._read(k, proc)))

    async def _read(self, k: int, proc: asyncio.subprocess.Process) -> None:
        async for raw in proc.stdout:
            kind, _, body = raw.decode().strip().partition(" ")
            if kind in ("STATUS", "FINAL"):
                self.latest[k] = json.loads(body) | {"final": kind == "FINAL"}

    async def say(self, word: str) -> None:
        for proc in self.procs:
            proc.stdin.write(word.encode() + b"\n")
            await proc.stdin.drain()

    def check(self) -> None:
        for k, proc in enumerate(self.procs):
            if proc.returncode not in (None, 0):
                raise RuntimeError(f"client process {k} exited with {proc.returncode}")

    async def finish(self) -> None:
        await self.say("STOP")
        await asyncio.wait_for(asyncio.gather(*(p.wait() for p in self.procs)), 120)
        await asyncio.gather(*self._readers)
        self.check()
        if not all(s.get("final") for s in self.latest):
            raise RuntimeError("a client process ended without its final report")

    def kill(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.kill()

    def total(self) -> dict:
        out: dict = {"calls_done": 0, "calls_rung": 0, "calls_accepted": 0, "gaps": 0, "teardown_gaps": 0,
                     "frames": 0, "cpu_s": 0.0,
                     "failures": {}, "gap_events": [], "raw_events": []}
        for s in self.latest:
            for key in ("calls_done", "calls_rung", "calls_accepted", "gaps", "teardown_gaps", "frames", "cpu_s"):
                out[key] += s.get(key, 0)
            out["gap_events"] += s.get("gap_events", [])
            out["raw_events"] += s.get("raw_events", [])
            for reason, count in s.get("failures", {}).items():
                out["failures"][reason] = out["failures"].get(reason, 0) + count
        return out


async def soak(args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix="vidzzle-soak-"))
    sinks = Sinks()
    await sinks.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = work / "soak.toml"
    write_config(config, work / "data", port, sinks)
    seeded = await seed(config, args.calls, f"http://127.0.0.1:{sinks.hook_port}")
    world_file = work / "world.json"
    world_file.write_text(json.dumps({"base": base, "embeds": seeded.embeds, "emails": seeded.agent_emails}))
    log_path = work / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDZZLE_")}
    server = subprocess.Popen([sys.executable, "-m", "vidzzle_media", "serve", "--config", str(config)],
                              stdout=subprocess.DEVNULL, stderr=log_path.open("w"), env=env, cwd=work)
    clients = Clients(args, world_file)
    samples: list[dict] = []
    try:
        for _ in range(300):
            try:
                read_metrics(base)
                break
            except OSError:
                if server.poll() is not None:
                    raise RuntimeError(f"server exited: {log_path.read_text()[-2000:]}") from None
                await asyncio.sleep(0.1)
        baseline_idle = read_metrics(base)
        await clients.start()
        await asyncio.sleep(1.0)
        baseline = await asyncio.to_thread(read_metrics, base)   # agents' sockets open, no call yet
        await clients.say("GO")
        t0 = time.monotonic()
        end = t0 + args.minutes * 60
        next_sample = t0
        last = (t0, 0.0, baseline["cpu_s"])
        reported_gaps: list[dict] = []
        while time.monotonic() < end:
            clients.check()
            if time.monotonic() >= next_sample:
                m = await asyncio.to_thread(read_metrics, base)
                now, c = time.monotonic(), clients.total()
                span = max(now - last[0], 1e-6)
                sample = {"minute": round((now - t0) / 60, 2), **m,
                          "server_cpu_percent": round(100 * (m["cpu_s"] - last[2]) / span, 1),
                          "client_cpu_percent": round(100 * (c["cpu_s"] - last[1]) / span, 1) if samples else None,
                          "calls_done": c["calls_done"], "mails": len(sinks.mails),
                          "webhooks": sinks.hooks["start"] + sinks.hooks["end"], "gaps": c["gaps"],
                          "frames": c["frames"], "failures": sum(c["failures"].values())}
                if c["gap_events"] and c["gap_events"] != reported_gaps:
                    print(json.dumps({"gap_events": c["gap_events"], "raw_events": c["raw_events"]}), flush=True)
                    reported_gaps = c["gap_events"]
                last = (now, c["cpu_s"], m["cpu_s"])
                samples.append(sample)
                print(json.dumps(sample), flush=True)
                next_sample += args.sample_s
            await asyncio.sleep(0.5)
        await clients.finish()
        totals = clients.total()
        for _ in range(120):                     # rooms closed, outbox drained, teardown done
            await asyncio.sleep(0.5)
            settled = await asyncio.to_thread(read_metrics, base)
            if settled["rooms"] == 0 and settled["outbox_depth"] == 0 and \
                    len(sinks.mails) >= totals["calls_rung"] and settled["tasks"] <= baseline["tasks"]:
                break
        await asyncio.sleep(2.0)
        after = await asyncio.to_thread(read_metrics, base)
    finally:
        clients.kill()
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        await sinks.stop()
    warm = [(s["minute"], s["rss_mb"]) for s in samples if s["minute"] >= args.warmup_min]
    slope = slope_per_minute(warm)
    return {
        "machine": machine(), "minutes": args.minutes, "calls": args.calls, "client_procs": len(clients.procs),
        "size": args.size, "bitrate": args.bitrate, "seed": args.seed,
        **{k: v for k, v in totals.items() if k != "cpu_s"},
        "mails": len(sinks.mails), "webhooks": dict(sinks.hooks),
        "rss_mb_per_min_after_warmup": None if slope is None else round(slope, 3),
        "baseline_idle": baseline_idle, "baseline": baseline, "after": after,
        "server_log": log_findings(log_path), "samples": samples, "work_dir": str(work),
    }


def verdict(r: dict, args: argparse.Namespace) -> list[str]:
    """The issue's targets, as a list of misses (empty: all met)."""
    misses = []
    if r["calls_done"] == 0:
        misses.append("no call completed")
    if r["failures"]:
        misses.append(f"failed calls: {r['failures']}")
    if r["gaps"]:
        misses.append(f"{r['gaps']} frame gaps")
    if r["mails"] != r["calls_rung"]:
        misses.append(f"{r['mails']} mails for {r['calls_rung']} calls that rang")
    hooks = r["webhooks"]
    if hooks["start"] != r["calls_accepted"] or hooks["end"] != r["calls_accepted"] or hooks["unsigned"]:
        misses.append(f"webhooks {hooks} for {r['calls_accepted']} accepted calls")
    after, base = r["after"], r["baseline"]
    if after is None or after["rooms"] or after["participants"] or after["outbox_depth"]:
        misses.append(f"not settled after the last call: {after}")
    elif after["fds"] > base["fds"] + args.fd_slack or after["tasks"] > base["tasks"] + args.task_slack:
        misses.append(f"fds/tasks {after['fds']:.0f}/{after['tasks']:.0f} after, {base['fds']:.0f}/"
                      f"{base['tasks']:.0f} before the first call")
    slope = r["rss_mb_per_min_after_warmup"]
    if args.minutes >= 10 and slope is not None and slope >= 1.0:
        misses.append(f"RSS grows {slope} MB/min after warm-up")
    if r["server_log"]["tracebacks"]:
        misses.append(f"{len(r['server_log']['tracebacks'])} tracebacks in the server log")
    return misses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--calls", type=int, default=10, help="concurrent call slots")
    parser.add_argument("--size", default="320x180", help="video size of the looped stream (30 fps)")
    parser.add_argument("--bitrate", type=int, default=300_000, help="target bitrate of the looped stream")
    parser.add_argument("--page-s", type=float, default=3.0, help="the agent turns a page this often")
    parser.add_argument("--sample-s", type=float, default=60.0, help="seconds between samples")
    parser.add_argument("--warmup-min", type=float, default=5.0, help="RSS growth is fitted after this")
    parser.add_argument("--fd-slack", type=int, default=2, help="open fds allowed above the baseline at the end")
    parser.add_argument("--task-slack", type=int, default=0, help="tasks allowed above the baseline at the end")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--client-procs", type=int, default=2, help="client processes sharing the slots")
    parser.add_argument("--json", help="write the result here")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--slots", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        asyncio.run(client_main(args))
        return 0
    if args.calls > 200:
        parser.error("at most 200 slots (one loopback address each)")
    result = asyncio.run(soak(args))
    result["misses"] = verdict(result, args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    summary = {k: v for k, v in result.items() if k not in ("samples", "machine")}
    print(json.dumps(summary, indent=2))
    return 1 if result["misses"] else 0


if __name__ == "__main__":
    sys.exit(main())
