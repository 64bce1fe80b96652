"""A real aiortc client for SFU tests: publish PC (offers) + subscribe PC (answers).

Sends a synthetic camera (frame number painted in as a bar pattern) and a
tone; records what it decodes from every received track.
"""

from __future__ import annotations

import asyncio
import fractions
import time

import av
import numpy as np
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack

VIDEO_CLOCK = 90000


def CONFIG() -> RTCConfiguration:
    """No STUN; MAX_BUNDLE (aiortc drops extra same-kind m-lines' transports otherwise)."""
    return RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)



async def answer_offer(pc: RTCPeerConnection, sdp: str, timeout: float = 2.0) -> str:
    """Apply the SFU's offer and return the answer, once aiortc routes every m-line.

    aiortc registers a receiver's SSRCs in a task it starts after
    setLocalDescription. A packet that comes before is routed by payload
    type, and when exactly one other receiver has that type (the camera, for
    a new presentation m-line) its SSRC is learned to that receiver
    (``RtpRouter.route_rtp``): the SFU's first packets of the new m-line then
    land in the camera's jitter buffer. Browsers register at
    setRemoteDescription, so the answer waits here until aiortc has too
    (on a connected transport; the first negotiation registers them before
    DTLS lets any packet in)."""
    await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
    await pc.setLocalDescription(await pc.createAnswer())
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline and any(
            t.currentDirection in ("recvonly", "sendrecv") and t.receiver.transport.state == "connected"
            and not t.receiver._RTCRtpReceiver__started for t in pc.getTransceivers()):
        await asyncio.sleep(0.002)
    return pc.localDescription.sdp


class CounterVideoTrack(MediaStreamTrack):
    """width x height frames at ``fps``; the frame number is painted as 16 bits."""

    kind = "video"

    def __init__(self, width: int = 320, height: int = 180, fps: int = 30) -> None:
        super().__init__()
        self.width, self.height, self.fps = width, height, fps
        self.count = 0
        self._start: float | None = None

    async def recv(self) -> av.VideoFrame:
        if self._start is None:
            self._start = time.monotonic()
        target = self._start + self.count / self.fps
        delay = target - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        img = np.full((self.height, self.width, 3), 40, dtype=np.uint8)
        for bit in range(16):
            if self.count >> bit & 1:
                x = bit * (self.width // 16)
                img[:, x:x + self.width // 16 - 2] = 220
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = int(self.count * VIDEO_CLOCK / self.fps)
        frame.time_base = fractions.Fraction(1, VIDEO_CLOCK)
        self.count += 1
        return frame


def read_counter(frame: av.VideoFrame) -> int:
    img = frame.to_ndarray(format="rgb24")
    row = img[img.shape[0] // 2]
    w = img.shape[1] // 16
    return sum(1 << bit for bit in range(16) if row[bit * w + w // 2 - 1].mean() > 130)


class Received:
    """What one received track delivered."""

    def __init__(self, track: MediaStreamTrack) -> None:
        self.track = track
        self.frames = 0
        self.sizes: set[tuple[int, int]] = set()
        self.first_at: float | None = None
        self.counters: list[int] = []
        self.last_frame = None
        self.event = asyncio.Event()


class Client:
    """A test participant speaking directly to an sfu Participant (or via signalling)."""

    def __init__(self, video: bool = True, audio: bool = True, width: int = 320, height: int = 180,
                 video_codec: str = "video/VP8", config: RTCConfiguration | None = None) -> None:
        self.publish_pc = RTCPeerConnection(config or CONFIG())
        self.subscribe_pc = RTCPeerConnection(config or CONFIG())
        self.video_track = CounterVideoTrack(width, height) if video else None
        self.audio_track = AudioStreamTrack() if audio else None
        self.received: list[Received] = []
        self.by_mid: dict[str, Received] = {}
        self.track_arrived = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self.created = time.monotonic()
        if self.audio_track:
            self.publish_pc.addTransceiver(self.audio_track, direction="sendonly")
        if self.video_track:
            t = self.publish_pc.addTransceiver(self.video_track, direction="sendonly")
            caps = RTCRtpSender.getCapabilities("video").codecs
            prefs = [c for c in caps if c.mimeType == video_codec] + [c for c in caps if c.mimeType == "video/rtx"]
            t.setCodecPreferences(prefs)

        @self.subscribe_pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            rec = Received(track)
            self.received.append(rec)
            self.track_arrived.set()
            self._tasks.append(asyncio.ensure_future(self._consume(rec)))

    async def _consume(self, rec: Received) -> None:
        try:
            while True:
                frame = await rec.track.recv()
                rec.frames += 1
                rec.last_frame = frame
                if rec.first_at is None:
                    rec.first_at = time.monotonic()
                if isinstance(frame, av.VideoFrame):
                    rec.sizes.add((frame.width, frame.height))
                    if rec.frames % 5 == 1:
                        rec.counters.append(read_counter(frame))
                rec.event.set()
        except Exception:
            pass

    async def offer(self) -> str:
        await self.publish_pc.setLocalDescription(await self.publish_pc.createOffer())
        return self.publish_pc.localDescription.sdp

    async def set_publish_answer(self, sdp: str) -> None:
        await self.publish_pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def answer_subscribe(self, sdp: str) -> str:
        return await answer_offer(self.subscribe_pc, sdp)

    def video_received(self) -> list[Received]:
        return [r for r in self.received if r.track.kind == "video"]

    def audio_received(self) -> list[Received]:
        return [r for r in self.received if r.track.kind == "audio"]

    async def close(self) -> None:
        for t in self._tasks:
            t.cancel()
        await self.publish_pc.close()
        await self.subscribe_pc.close()


def attach(client: Client, participant) -> None:
    """Wire a Client straight to an sfu Participant (no WebSocket)."""

    def on_offer(sdp: str, tracks: list) -> None:
        async def answer() -> None:
            participant.subscribe_answer(await client.answer_subscribe(sdp))
        asyncio.ensure_future(answer())

    participant.on("subscribe_offer", on_offer)


async def join(room, client: Client, name: str = "x"):
    participant = room.add_participant(name)
    attach(client, participant)
    if client.video_track or client.audio_track:
        answer = await participant.publish(await client.offer())
        await client.set_publish_answer(answer)
    return participant


async def wait_for(predicate, timeout: float = 10.0, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {predicate}")
        await asyncio.sleep(interval)
