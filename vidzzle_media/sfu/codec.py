"""Negotiated codec of one track, as the forwarding path needs it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"


@dataclass(frozen=True)
class CodecInfo:
    """What a Producer sends; Consumers map it to their own leg's numbers."""

    kind: str
    """'audio' or 'video'."""
    mime_type: str
    """e.g. 'video/VP8', 'audio/opus', 'video/H264'."""
    clock_rate: int
    """RTP clock rate (90000 for video, 48000 for Opus)."""
    payload_type: int
    """Payload type on the publishing leg."""
    rtx_payload_type: int | None = None
    """RTX payload type on the publishing leg (None: not negotiated)."""
    parameters: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    """fmtp parameters (H.264 profile-level-id, packetization-mode)."""
    header_extensions: dict[int, str] = field(default_factory=dict, compare=False, hash=False)
    """Extension id -> URI on the publishing leg."""

    def __post_init__(self) -> None:
        if self.kind not in ("audio", "video"):
            raise ValueError(f"bad kind {self.kind!r}")
        if not 0 <= self.payload_type < 128:
            raise ValueError("payload type out of range")

    @property
    def name(self) -> str:
        """Codec name without the kind, upper case: 'VP8', 'OPUS', 'H264'."""
        return self.mime_type.split("/", 1)[1].upper()


def codec_from_sdp_media(media: Any) -> CodecInfo | None:
    """The first media codec (+ its RTX) of an ``aiortc.sdp.MediaDescription``."""
    codecs = [c for c in media.rtp.codecs if c.mimeType.split("/")[1].lower() != "rtx"]
    if not codecs:
        return None
    main = codecs[0]
    rtx = next((c.payloadType for c in media.rtp.codecs
                if c.mimeType.lower().endswith("/rtx") and str(c.parameters.get("apt")) == str(main.payloadType)),
               None)
    return CodecInfo(
        kind=media.kind,
        mime_type=main.mimeType,
        clock_rate=main.clockRate,
        payload_type=main.payloadType,
        rtx_payload_type=rtx,
        parameters=dict(main.parameters),
        header_extensions={e.id: e.uri for e in media.rtp.headerExtensions},
    )
