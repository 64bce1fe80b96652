"""The per-packet helpers: parse, rewrite, RTX, key-frame detection."""

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vidzzle_media.sfu.rtp import (
    RtpView,
    build_extension_block,
    h264_keyframe_start,
    parse_one_byte_extensions,
    rewrite,
    seq_newer,
    unwrap_rtx,
    vp8_keyframe_start,
    wrap_rtx,
)


def packet(seq=1, ts=1000, ssrc=42, pt=96, marker=1, ext=b"", payload=b"\x10\x00abc"):
    b0 = 0x80 | (0x10 if ext else 0)
    return struct.pack("!BBHII", b0, (marker << 7) | pt, seq, ts, ssrc) + ext + payload


def test_rewrite_changes_only_the_header_fields():
    ext = build_extension_block([(1, b"\x01\x02\x03"), (3, b"\x07")])
    view = RtpView(packet(ext=ext))
    assert view.extensions == [(1, b"\x01\x02\x03"), (3, b"\x07")]
    out = RtpView(rewrite(view, 100, 7, 9, 1234, build_extension_block([(5, b"\x07")])))
    assert (out.payload_type, out.seq, out.timestamp, out.ssrc, out.marker) == (100, 7, 9, 1234, 1)
    assert out.extensions == [(5, b"\x07")] and out.payload == view.payload


def test_rtx_round_trip():
    original = rewrite(RtpView(packet(seq=500)), 96, 500, 77, 9, b"")
    rtx = RtpView(wrap_rtx(original, 97, 3, 11))
    assert (rtx.payload_type, rtx.seq, rtx.ssrc) == (97, 3, 11)
    back = RtpView(unwrap_rtx(rtx, 96))
    assert (back.payload_type, back.seq, back.timestamp, back.payload) == (96, 500, 77, RtpView(original).payload)


@given(st.binary(max_size=64))
def test_parser_rejects_garbage_with_value_error_only(data):
    try:
        view = RtpView(data)
    except ValueError:
        return
    assert view.payload_start <= view.payload_end <= len(data)


@given(st.lists(st.tuples(st.integers(1, 14), st.binary(min_size=1, max_size=16)), max_size=6))
def test_extension_block_round_trip(elements):
    block = build_extension_block(elements)
    assert parse_one_byte_extensions(block[4:]) == elements


def test_vp8_keyframe_detection():
    # S=1, PID=0, no X; VP8 header first byte bit0 = 0 -> key frame
    assert vp8_keyframe_start(bytes([0x10, 0x00, 0x00]))
    assert not vp8_keyframe_start(bytes([0x10, 0x01]))        # inter frame
    assert not vp8_keyframe_start(bytes([0x00, 0x00]))        # not a partition start
    # X=1, I=1 with a 15-bit picture id (M bit), then the key-frame byte
    assert vp8_keyframe_start(bytes([0x90, 0x80, 0x80, 0x01, 0x00]))
    assert not vp8_keyframe_start(b"")


@pytest.mark.parametrize("payload,key", [
    (bytes([0x65]), True),                 # IDR
    (bytes([0x67]), True),                 # SPS
    (bytes([0x41]), False),                # non-IDR slice
    (bytes([0x7C, 0x85]), True),           # FU-A start of IDR
    (bytes([0x7C, 0x05]), False),          # FU-A continuation
    (bytes([0x78, 0x00, 0x01, 0x67, 0x00, 0x01, 0x68]), True),  # STAP-A with SPS
])
def test_h264_keyframe_detection(payload, key):
    assert h264_keyframe_start(payload) is key


def test_sequence_comparison_wraps():
    assert seq_newer(1, 65535) and not seq_newer(65535, 1) and not seq_newer(5, 5)
