"""Datagrams from anyone to a media port: empty ones, malformed STUN (that
made aioice log a traceback each) and unknown protocols are dropped and
counted, with at most one log line per reason per minute; DTLS-, RTCP- and
RTP-shaped junk goes on to aiortc, which must drop it without a word; and
the call goes on."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import struct

from signalling.wspeer import WsPeer

from sfu.peers import Client, wait_for
from sfu.standins import SilentUpstream
from vidzzle_media.keys import ROOMS
from vidzzle_media.sfu import aiortc_glue


def malformed_stun() -> bytes:
    """A Binding request whose PRIORITY attribute is empty: aioice's parser raises struct.error."""
    attribute = struct.pack("!HH", 0x0024, 0)
    body = attribute + b"\x00" * (64 - len(attribute))
    return struct.pack("!HHI12s", 0x0001, len(body), 0x2112A442, b"x" * 12) + body


async def test_garbage_to_a_media_port_is_dropped_counted_and_logged_once(client, caplog):
    caplog.set_level(logging.DEBUG)
    directory = client.server.app[ROOMS]
    room_id = await directory.create_room([])
    a = WsPeer(await client.ws_connect("/ws/room"), Client())
    try:
        await a.join(directory.issue_token(room_id, "agent", "Anna"))
        await a.publish()
        answer = a.of_type("answer")[0]["sdp"]
        port = int(re.search(r"a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host", answer).group(1))
        # counted where the media runs: this process, or a media worker (its reports)
        before = dict(directory.stats().dropped)
        caplog.clear()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(100):
            for datagram in (b"", malformed_stun(), b"\xff" * 40,
                             b"\x16\xfe\xfd" + b"\x00" * 40,          # DTLS-shaped junk: aiortc drops it quietly
                             b"\x80\xc8\x00\x06" + b"\x01" * 24,     # RTCP-shaped junk (not SRTCP-authenticated)
                             b"\x80\x60\x00\x01" + b"\x02" * 30):    # RTP-shaped junk (not SRTP-authenticated)
                sock.sendto(datagram, ("127.0.0.1", port))
            await asyncio.sleep(0.003)      # a pace the loopback socket buffer takes without loss
        sock.close()
        await wait_for(lambda: all(directory.stats().dropped.get(r, 0) - before.get(r, 0) == 100
                                   for r in ("empty", "malformed_stun", "unknown_protocol")))
        await asyncio.sleep(0.5)            # the DTLS/RTCP/RTP-shaped junk went on to aioice/aiortc
        if not directory.stats().workers:   # (a media worker logs to its own stderr)
            lines = [r for r in caplog.records if r.name.startswith(("aioice", "aiortc", "vidzzle"))
                     and r.levelno >= logging.INFO]
            assert not [r for r in lines if r.exc_info or r.levelno >= logging.WARNING], [r.getMessage() for r in lines]
            reasons = [r.args[0] for r in lines if "dropped a datagram" in r.getMessage()]
            assert len(reasons) == len(set(reasons)), reasons                 # at most one line per reason
            assert len(lines) <= 10, [r.getMessage() for r in lines]      # 600 junk datagrams, a handful of lines
        text = await (await client.get("/metrics")).text()
        assert re.search(r'vidzzle_dropped_datagrams_total\{reason="malformed_stun"\} [1-9]', text)
        assert re.search(r"^vidzzle_participants 1\.0$", text, flags=re.M)        # the participant is still there
    finally:
        await a.close()
        aiortc_glue.set_host_addresses(None)


def test_a_truncated_header_extension_is_malformed_not_forwarded():
    """One-byte extension block whose last element header (id 3, 2 bytes) has no value."""
    import pytest

    from vidzzle_media.sfu.rtp import RtpView
    header = struct.pack("!BBHII", 0x90, 96, 1, 1000, 1234)
    block = bytes([0x11, 0xAA, 0x00, 0x31])                     # id 1 (2 bytes: AA 00), then id 3 cut off
    packet = header + struct.pack("!HH", 0xBEDE, 1) + block + b"payload"
    with pytest.raises(ValueError, match="truncated header extension"):
        RtpView(packet)
    ok = header + struct.pack("!HH", 0xBEDE, 1) + bytes([0x10, 0xAA, 0x00, 0x00]) + b"payload"
    assert RtpView(ok).extensions == [(1, b"\xaa")]


def test_payloads_a_viewer_cannot_depacketize_are_recognised():
    from vidzzle_media.sfu.rtp import h264_payload_ok, vp8_keyframe_start, vp8_payload_ok
    key = bytes([0x90, 0x80, 0x12]) + bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0x68, 0x01]) + b"data"
    assert vp8_payload_ok(key) and vp8_keyframe_start(key)
    assert vp8_payload_ok(bytes([0x00, 0xAA, 0xBB]))                     # a middle packet of a frame
    for garbage in (b"\x80", bytes([0x90, 0x80]), bytes([0x10]), bytes([0x10, 0x00, 0x00]),   # cut-off descriptor / header
                    bytes([0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00])):     # key frame without start code
        assert not vp8_payload_ok(garbage), garbage
    assert h264_payload_ok(bytes([0x65, 0x88])) and h264_payload_ok(bytes([0x18, 0x00, 0x02, 0x67, 0x42]))
    for garbage in (bytes([0xE5, 0x00]), bytes([0x00]), bytes([0x18, 0x00, 0x09, 0x67]), bytes([0x1C, 0x85])):
        assert not h264_payload_ok(garbage), garbage


def test_a_producer_drops_and_counts_garbage_instead_of_forwarding_it(monkeypatch):
    from vidzzle_media.sfu import intake
    from vidzzle_media.sfu.codec import CodecInfo
    from vidzzle_media.sfu.producer import Producer
    from vidzzle_media.sfu.rtp import RtpView

    producer = Producer("video", CodecInfo("video", "video/VP8", 90000, 96), SilentUpstream())
    forwarded = []

    class Viewer:
        def forward(self, view):
            forwarded.append(view.seq)

    # the reference intake's loop calls any object's forward
    producer.intake = intake.Intake(producer, 96, None, intake.Codec.VP8)
    producer.intake.legs = (Viewer(),)
    before = aiortc_glue.DROPPED["malformed_payload"]
    for seq, payload in ((1, bytes([0x10, 0x00, 0x00])), (2, bytes([0x00, 0xAA, 0xBB]))):
        producer.receive(RtpView(struct.pack("!BBHII", 0x80, 96, seq, 1000, 42) + payload))
    assert forwarded == [2] and aiortc_glue.DROPPED["malformed_payload"] == before + 1


def test_forged_or_broken_srtcp_from_a_receiver_is_dropped_and_counted():
    """The subscribe PC's SRTCP is handled in the socket callback: a forged
    one and an authentic one that is not RTCP are dropped, by reason."""
    from types import SimpleNamespace

    from aiortc.rtcdtlstransport import RtpRouter

    from sfu.standins import srtp_session

    hook = aiortc_glue.InlineRtcp(SimpleNamespace(_rx_srtp=srtp_session(inbound=True), _rtp_router=RtpRouter()))
    sender = srtp_session()
    before = dict(aiortc_glue.DROPPED)
    broken = sender.protect_rtcp(struct.pack("!BBHI", 0x80, 200, 6, 1234) + b"\x00" * 4)  # SR cut short
    hook(broken)
    forged = bytearray(sender.protect_rtcp(struct.pack("!BBHI", 0x81, 201, 1, 1234)))
    forged[-1] ^= 0xFF
    hook(bytes(forged))
    assert aiortc_glue.DROPPED["malformed_rtcp"] == before.get("malformed_rtcp", 0) + 1
    assert aiortc_glue.DROPPED["unauthenticated_rtcp"] == before.get("unauthenticated_rtcp", 0) + 1
