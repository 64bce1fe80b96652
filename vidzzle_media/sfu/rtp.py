"""Plain-RTP helpers for the forwarding path: parse once, rewrite per receiver.

Pure functions on ``bytes`` (no aiortc objects): the per-packet cost is the
lever for the performance goals (DESIGN.md), so parsing is done once per
incoming packet (:class:`RtpView`) and each receiving leg only packs a new
12-byte header plus its own header-extension block.
"""

from __future__ import annotations

import struct

_HEADER = struct.Struct("!BBHII")
_ONE_BYTE_PROFILE = 0xBEDE


class RtpView:
    """One parsed incoming RTP packet (header fields + payload offsets)."""

    __slots__ = ("data", "marker", "payload_type", "seq", "timestamp", "ssrc",
                 "extensions", "payload_start", "payload_end", "keyframe_start", "ext_cache",
                 "payload")

    def __init__(self, data: bytes) -> None:
        if len(data) < 12:
            raise ValueError("RTP packet too short")
        b0, b1, self.seq, self.timestamp, self.ssrc = _HEADER.unpack_from(data)
        if b0 >> 6 != 2:
            raise ValueError("not RTP version 2")
        self.data = data
        self.marker = b1 >> 7
        self.payload_type = b1 & 0x7F
        pos = 12 + 4 * (b0 & 0x0F)
        #: list of (id, value bytes) from a one-byte (RFC 8285) extension block
        self.extensions: list[tuple[int, bytes]] = []
        if b0 & 0x10:
            if len(data) < pos + 4:
                raise ValueError("truncated extension header")
            profile, length = struct.unpack_from("!HH", data, pos)
            ext_end = pos + 4 + 4 * length
            if ext_end > len(data):
                raise ValueError("truncated extension")
            if profile == _ONE_BYTE_PROFILE:
                self.extensions = parse_one_byte_extensions(data[pos + 4:ext_end])
            pos = ext_end
        end = len(data)
        if b0 & 0x20:
            pad = data[-1]
            if pad == 0 or pad > end - pos:
                raise ValueError("bad padding")
            end -= pad
        if pos > end:
            raise ValueError("truncated packet")
        self.payload_start = pos
        self.payload_end = end
        #: the payload, sliced once per packet (every leg sends the same bytes)
        self.payload = data[pos:end] if pos or end != len(data) else data
        self.keyframe_start = False
        #: rewritten extension blocks by leg mapping (legs often share one)
        self.ext_cache: dict[tuple[tuple[int, int], ...], bytes] = {}


def parse_one_byte_extensions(block: bytes) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    i, n = 0, len(block)
    while i < n:
        b = block[i]
        if b == 0:  # padding
            i += 1
            continue
        ext_id, length = b >> 4, (b & 0x0F) + 1
        if ext_id == 15:
            break
        if i + 1 + length > n:   # an element cut off by the block's end: the publisher's bytes are garbage
            raise ValueError("truncated header extension element")
        out.append((ext_id, block[i + 1:i + 1 + length]))
        i += 1 + length
    return out


def build_extension_block(elements: list[tuple[int, bytes]]) -> bytes:
    """A one-byte extension block (with its 4-byte header), b"" when empty."""
    if not elements:
        return b""
    body = b"".join(bytes([(i << 4) | (len(v) - 1)]) + v for i, v in elements)
    body += b"\x00" * (-len(body) % 4)
    return struct.pack("!HH", _ONE_BYTE_PROFILE, len(body) // 4) + body


def rewrite(view: RtpView, payload_type: int, seq: int, timestamp: int, ssrc: int,
            ext_block: bytes) -> bytes:
    """The packet as the receiving leg must see it (no CSRC, no padding)."""
    b0 = 0x80 | (0x10 if ext_block else 0)
    header = _HEADER.pack(b0, (view.marker << 7) | payload_type, seq & 0xFFFF,
                          timestamp & 0xFFFFFFFF, ssrc)
    return header + ext_block + view.payload


def wrap_rtx(packet: bytes, rtx_payload_type: int, rtx_seq: int, rtx_ssrc: int) -> bytes:
    """RFC 4588 retransmission of a packet produced by :func:`rewrite`."""
    view = RtpView(packet)
    ext = packet[12:view.payload_start]
    b0 = packet[0]
    header = _HEADER.pack(b0, (view.marker << 7) | rtx_payload_type, rtx_seq & 0xFFFF,
                          view.timestamp, rtx_ssrc)
    return header + ext + struct.pack("!H", view.seq) + packet[view.payload_start:]


def unwrap_rtx(view: RtpView, payload_type: int) -> bytes | None:
    """An RTX packet back into the original packet (plain bytes) or None."""
    payload = view.payload
    if len(payload) < 2:
        return None  # padding-only probe
    (osn,) = struct.unpack_from("!H", payload)
    data = view.data
    b0 = data[0] & ~0x20  # padding removed below
    header = bytes([b0, (view.marker << 7) | payload_type]) + struct.pack("!H", osn) + data[4:view.payload_start]
    return header + payload[2:]


# --- key frames ----------------------------------------------------------------

def vp8_keyframe_start(payload: bytes) -> bool:
    """True when this VP8 packet starts a key frame (RFC 7741)."""
    if not payload or not (payload[0] & 0x10) or (payload[0] & 0x07):  # S bit, partition index 0
        return False
    i = _vp8_descriptor_end(payload)
    return i is not None and (payload[i] & 0x01) == 0


def _vp8_descriptor_end(payload: bytes) -> int | None:
    """Length of the VP8 payload descriptor (RFC 7741 section 4.2), None when it is cut short."""
    if not payload:
        return None
    i = 1
    if payload[0] & 0x80:  # X
        if len(payload) < 2:
            return None
        x = payload[1]
        i = 2
        if x & 0x80:  # I: picture id, 7 or 15 bits
            if len(payload) <= i:
                return None
            i += 2 if payload[i] & 0x80 else 1
        if x & 0x40:  # L
            i += 1
        if x & 0x30:  # T or K
            i += 1
    return i if i < len(payload) else None


def vp8_payload_ok(payload: bytes) -> bool:
    """A VP8 packet a receiver can depacketize: a complete descriptor, data
    after it, and at the start of a frame its payload header (3 bytes; a key
    frame also its start code 9d 01 2a and dimensions)."""
    i = _vp8_descriptor_end(payload)
    if i is None:
        return False
    if payload[0] & 0x10 and not payload[0] & 0x07:   # S, partition 0: a frame starts here
        if len(payload) < i + 3:
            return False
        if not payload[i] & 0x01:                     # key frame
            return len(payload) >= i + 10 and payload[i + 3:i + 6] == b"\x9d\x01\x2a"
    return True


def h264_payload_ok(payload: bytes) -> bool:
    """An H.264 packet (RFC 6184) with a sane NAL header: forbidden bit clear, a known type, whole STAP-A units."""
    if not payload or payload[0] & 0x80:
        return False
    nal = payload[0] & 0x1F
    if nal == 0 or nal in (25, 26, 27, 29, 30, 31):
        return False
    if nal == 28:  # FU-A
        return len(payload) > 2
    if nal == 24:  # STAP-A: every unit's size must fit
        i = 1
        while i < len(payload):
            if i + 2 > len(payload):
                return False
            size = (payload[i] << 8) | payload[i + 1]
            if size == 0 or i + 2 + size > len(payload):
                return False
            i += 2 + size
    return True


def h264_keyframe_start(payload: bytes) -> bool:
    """True when this H.264 packet carries an SPS or starts an IDR (RFC 6184)."""
    if not payload:
        return False
    nal = payload[0] & 0x1F
    if nal in (5, 7):
        return True
    if nal == 24:  # STAP-A
        i = 1
        while i + 2 < len(payload):
            size = (payload[i] << 8) | payload[i + 1]
            if i + 2 < len(payload) and (payload[i + 2] & 0x1F) in (5, 7):
                return True
            i += 2 + size
        return False
    if nal == 28 and len(payload) > 1:  # FU-A
        return bool(payload[1] & 0x80) and (payload[1] & 0x1F) in (5, 7)
    return False


def seq_newer(a: int, b: int) -> bool:
    """RFC 1982 serial comparison on 16 bits: a is after b."""
    return a != b and ((a - b) & 0xFFFF) < 0x8000
