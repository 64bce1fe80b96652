"""Bench-only clients for ``bench/fanout.py``: one publisher and N receivers.

All run in the CLIENT process (never the server's). Cheap measurement on a
2-core machine:

- Every receiver runs aiortc's normal receive path (SRTP, NACK generator,
  jitter buffer), but aiortc's decoder thread is swapped per track
  (``aiortc.rtcrtpreceiver.decoder_worker`` is looked up when a receiver
  starts): most receivers COUNT complete encoded frames (RTP timestamps step
  by 3000 at 30 fps, so a larger step is a frame gap), and only a few really
  DECODE VP8 and read the frame counter painted into the picture (latency =
  decode time - capture time of that counter; one process, one monotonic
  clock).
- RTP packets are counted (and, with loss, dropped) on the ICE sockets of each
  receiver's subscribe PC; the publisher drops on its ICE send path.
"""

from __future__ import annotations

import asyncio
import fractions
import json
import logging
import random
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import Any

import av
import numpy as np
from aiohttp import ClientSession
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
    rtcrtpreceiver,
)
from aiortc.codecs import get_decoder
from aiortc.mediastreams import AudioStreamTrack

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from sfu.peers import answer_offer  # noqa: E402  (the test peers' answer, shared)

log = logging.getLogger(__name__)

WIDTH, HEIGHT, FPS = 640, 360, 30
VIDEO_CLOCK = 90000
TS_STEP = VIDEO_CLOCK // FPS
#: the counter: 16 bits as 2 rows x 8 blocks of 80 x 100 px (black/white)
BLOCK_W, BLOCK_H, BITS = 80, 100, 16


def config() -> RTCConfiguration:
    return RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)


# --- the synthetic camera ------------------------------------------------------------

class CounterTrack(MediaStreamTrack):
    """640x360@30 yuv420p; the frame number painted as 16 black/white blocks,
    plus a band of changing texture so the encoder spends a realistic bitrate.
    ``capture[n & 0xFFFF]`` = monotonic time frame n was handed to the encoder."""

    kind = "video"

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self.capture: dict[int, float] = {}
        self._start: float | None = None
        rnd = np.random.default_rng(1)
        coarse = rnd.integers(40, 216, size=(HEIGHT // 8, WIDTH * 2 // 8), dtype=np.uint8)
        self._texture = np.repeat(np.repeat(coarse, 8, axis=0), 8, axis=1)  # (45, 160) -> (360, 1280)
        self._rnd = rnd

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        target = self._start + self.count / FPS
        delay = target - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        n = self.count
        buf = np.empty((HEIGHT * 3 // 2, WIDTH), dtype=np.uint8)
        y = buf[:HEIGHT]
        y[:] = 128
        for bit in range(BITS):
            row, col = divmod(bit, 8)
            y[row * BLOCK_H:(row + 1) * BLOCK_H, col * BLOCK_W:(col + 1) * BLOCK_W] = 235 if n >> bit & 1 else 16
        # moving texture (panning) plus a few fresh random tiles per frame
        band = HEIGHT - 2 * BLOCK_H - 20
        off = (n * 6) % WIDTH
        y[HEIGHT - band:] = self._texture[:band, off:off + WIDTH]
        for _ in range(6):
            ty = int(self._rnd.integers(HEIGHT - band, HEIGHT - 16))
            tx = int(self._rnd.integers(0, WIDTH - 16))
            y[ty:ty + 16, tx:tx + 16] = self._rnd.integers(16, 235, size=(16, 16), dtype=np.uint8)
        buf[HEIGHT:] = 128
        frame = av.VideoFrame.from_ndarray(buf, format="yuv420p")
        frame.pts = n * TS_STEP
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.capture[n & 0xFFFF] = time.monotonic()
        self.count += 1
        return frame


def read_counter(frame: av.VideoFrame) -> int:
    """The painted frame number (Y plane only: no colour conversion)."""
    plane = frame.planes[0]
    y = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
    n = 0
    for bit in range(BITS):
        row, col = divmod(bit, 8)
        if y[row * BLOCK_H + BLOCK_H // 2, col * BLOCK_W + BLOCK_W // 2] > 128:
            n |= 1 << bit
    return n


# --- receive-side measurement -------------------------------------------------------------

class RxStats:
    """What one receiver got. Written by its decoder threads and ICE callbacks,
    read by the main thread (plain ints/lists under the GIL)."""

    def __init__(self, name: str, decode: bool, capture: dict[int, float]) -> None:
        self.name = name
        self.decode = decode
        self.capture = capture
        self.packets = 0  # RTP datagrams arriving at the subscribe PC's sockets
        self.dropped = 0  # by the loss shim
        self.frames = 0  # complete video frames out of aiortc's jitter buffer
        self.gaps = 0  # frames missing between consecutive frames (RTP timestamps)
        self.gap_events: list[dict] = []  # the first few jumps, to find what caused them
        self.keyframes = 0
        self.audio_frames = 0
        self.first_frame_at: float | None = None
        self.decoded = 0
        self.decode_errors = 0
        self.decode_errors_after_key = 0
        self.counter_jumps = 0  # painted counter skipped (decoded receivers)
        self.latencies: list[tuple[float, float]] = []  # (monotonic time, ms)
        self._last_ts: int | None = None
        self._last_counter: int | None = None
        self._key_seen = False

    def video_frame(self, timestamp: int, data: bytes) -> None:
        if self._last_ts is not None:
            steps = round((timestamp - self._last_ts) / TS_STEP)
            if steps > 1:
                self.gaps += steps - 1
                if len(self.gap_events) < 5:
                    self.gap_events.append({"at": time.strftime("%H:%M:%S"), "receiver": self.name,
                                            "missing": steps - 1, "from_ts": self._last_ts, "to_ts": timestamp,
                                            "after_frames": self.frames, "keyframe": bool(data and not data[0] & 1)})
        self._last_ts = timestamp
        self.frames += 1
        if data and not data[0] & 1:
            self.keyframes += 1
            self._key_seen = True

    def decoded_frame(self, frame: av.VideoFrame) -> None:
        now = time.monotonic()
        self.decoded += 1
        if self.first_frame_at is None:
            self.first_frame_at = now
        n = read_counter(frame)
        if self._last_counter is not None and ((n - self._last_counter) & 0xFFFF) > 1:
            self.counter_jumps += 1
        self._last_counter = n
        t0 = self.capture.get(n)
        if t0 is not None and 0 <= now - t0 < 10:
            self.latencies.append((now, (now - t0) * 1000))


#: a received track's frame queue -> its stats, picked up when its decoder thread starts.
#: Weak, keyed by the queue itself: an entry of a track whose receiver never
#: started must not outlive it (keyed by ``id()``, a later queue at the same
#: address would count a new stream into an old track's stats: one bogus
#: timestamp jump of up to 2**32 ticks, found by bench/soak.py)
_registry: weakref.WeakKeyDictionary[Any, RxStats] = weakref.WeakKeyDictionary()
_original_worker = rtcrtpreceiver.decoder_worker


def count_frames(track: MediaStreamTrack, stats: RxStats) -> None:
    """Count the frames of a received ``track`` into ``stats`` instead of decoding them."""
    _registry[track._queue] = stats


def _worker(loop, input_q, output_q, decode_error: threading.Event) -> None:
    """Replacement for aiortc's decoder thread: count, or decode + read counter."""
    stats = _registry.pop(output_q, None)
    if stats is None:
        return _original_worker(loop, input_q, output_q, decode_error)
    decoder = None
    while True:
        task = input_q.get()
        if task is None:
            asyncio.run_coroutine_threadsafe(output_q.put(None), loop)
            return
        codec, frame = task
        if not codec.mimeType.lower().startswith("video/"):
            stats.audio_frames += 1
            continue
        stats.video_frame(frame.timestamp, frame.data)
        if not stats.decode:
            if stats.first_frame_at is None:
                stats.first_frame_at = time.monotonic()
            continue
        if decoder is None:
            decoder = get_decoder(codec)
        try:
            decoded = decoder.decode(frame)
        except av.FFmpegError:
            stats.decode_errors += 1
            if stats._key_seen:
                stats.decode_errors_after_key += 1
            decode_error.set()  # aiortc then sends a PLI, as it would normally
            continue
        for f in decoded:
            stats.decoded_frame(f)


rtcrtpreceiver.decoder_worker = _worker


def _is_rtp(data: bytes) -> bool:
    return len(data) > 12 and 127 < data[0] < 192 and not 192 <= data[1] <= 223


def _connections(pc: RTCPeerConnection) -> list:
    seen = {}
    for t in pc.getTransceivers():
        conn = t.receiver.transport.transport.iceGatherer._connection
        seen[id(conn)] = conn
    return list(seen.values())


#: bench/_losstrace.py sets this to see each dropped datagram: hook(stats, data)
DROP_HOOK = None


def install_rx_shim(pc: RTCPeerConnection, stats: RxStats, loss: float, rnd: random.Random) -> None:
    """Count (and drop ``loss`` of) RTP datagrams arriving on ``pc``'s sockets."""
    for conn in _connections(pc):
        for protocol in conn._protocols:
            if getattr(protocol, "_bench_rx", False):
                continue
            protocol._bench_rx = True
            original = protocol.datagram_received

            def datagram_received(data: bytes, addr, _orig=original) -> None:
                if _is_rtp(data):
                    stats.packets += 1
                    if loss and rnd.random() < loss:
                        stats.dropped += 1
                        if DROP_HOOK is not None:
                            DROP_HOOK(stats, data)
                        return
                _orig(data, addr)

            protocol.datagram_received = datagram_received


def install_tx_loss(pc: RTCPeerConnection, loss: float, rnd: random.Random, counter: list[int]) -> None:
    """Drop ``loss`` of the RTP datagrams ``pc`` sends (publisher -> server)."""
    for conn in _connections(pc):
        for protocol in conn._protocols:
            if getattr(protocol, "_bench_tx", False):
                continue
            protocol._bench_tx = True
            original = protocol.send_data

            async def send_data(data: bytes, addr, _orig=original) -> None:
                if _is_rtp(data) and rnd.random() < loss:
                    counter[0] += 1
                    return
                await _orig(data, addr)

            protocol.send_data = send_data


# --- peers -----------------------------------------------------------------------

class Peer:
    """One participant speaking the product's WebSocket protocol (or the relay's subset)."""

    def __init__(self, http: ClientSession, base: str, ws_path: str, token: str, name: str) -> None:
        self.http, self.url, self.token, self.name = http, base.replace("http", "ws") + ws_path, token, name
        self.ws = None
        self.messages: list[dict] = []
        self._waiters: dict[str, asyncio.Event] = {}
        self._reader: asyncio.Task | None = None
        self.pcs: list[RTCPeerConnection] = []
        self.errors: list[str] = []

    async def connect(self) -> None:
        self.ws = await self.http.ws_connect(self.url, heartbeat=20.0)
        self._reader = asyncio.ensure_future(self._read())
        await self.send({"type": "join", "token": self.token, "display_name": self.name})
        await self.expect("joined")

    async def _read(self) -> None:
        async for msg in self.ws:
            data = json.loads(msg.data)
            self.messages.append(data)
            if data["type"] == "error":
                self.errors.append(f"{data.get('code')}: {data.get('message')}")
            try:
                await self.on_message(data)
            except Exception as exc:  # keep reading; reported by the bench
                self.errors.append(repr(exc))
            ev = self._waiters.get(data["type"])
            if ev:
                ev.set()

    async def on_message(self, data: dict) -> None:
        pass

    async def send(self, data: dict) -> None:
        await self.ws.send_str(json.dumps(data))

    async def expect(self, type_: str, timeout: float = 15.0) -> dict:
        ev = self._waiters.setdefault(type_, asyncio.Event())
        if not any(m["type"] == type_ for m in self.messages):
            await asyncio.wait_for(ev.wait(), timeout)
        return next(m for m in self.messages if m["type"] == type_)

    async def close(self) -> None:
        try:
            if self.ws is not None and not self.ws.closed:
                await self.send({"type": "leave"})
                await asyncio.sleep(0.05)
                await self.ws.close()
        except Exception:
            pass
        if self._reader:
            self._reader.cancel()
        await asyncio.gather(*(pc.close() for pc in self.pcs), return_exceptions=True)


class Publisher(Peer):
    def __init__(self, *args, loss: float = 0.0, seed: int = 0) -> None:
        super().__init__(*args)
        self.video = CounterTrack()
        self.audio = AudioStreamTrack()
        self.loss = loss
        self.rnd = random.Random(seed)
        self.dropped = [0]

    async def publish(self) -> None:
        pc = RTCPeerConnection(config())
        self.pcs.append(pc)
        pc.addTransceiver(self.audio, direction="sendonly")
        t = pc.addTransceiver(self.video, direction="sendonly")
        caps = RTCRtpSender.getCapabilities("video").codecs
        t.setCodecPreferences([c for c in caps if c.mimeType == "video/VP8"] +
                              [c for c in caps if c.mimeType == "video/rtx"])
        await pc.setLocalDescription(await pc.createOffer())
        if self.loss:
            install_tx_loss(pc, self.loss, self.rnd, self.dropped)
        await self.send({"type": "offer", "pc": "publish", "sdp": pc.localDescription.sdp, "id": "pub"})
        answer = await self.expect("answer")
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))


class Receiver(Peer):
    def __init__(self, *args, decode: bool = False, capture: dict[int, float], loss: float = 0.0,
                 seed: int = 0) -> None:
        super().__init__(*args)
        self.stats = RxStats(self.name, decode, capture)
        self.loss = loss
        self.rnd = random.Random(seed)
        self.joined_at: float | None = None
        self.pc = RTCPeerConnection(config())
        self.pcs.append(self.pc)

        @self.pc.on("track")
        def on_track(track) -> None:
            count_frames(track, self.stats)

    async def connect(self) -> None:
        self.joined_at = time.monotonic()
        await super().connect()

    async def on_message(self, data: dict) -> None:
        if data["type"] == "offer" and data.get("pc") == "subscribe":
            sdp = await answer_offer(self.pc, data["sdp"])
            install_rx_shim(self.pc, self.stats, self.loss, self.rnd)
            await self.send({"type": "answer", "pc": "subscribe", "sdp": sdp})
