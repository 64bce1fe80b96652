"""Real test files built in memory: PNG/GIF/JPEG headers and PDFs (PyMuPDF)."""

from __future__ import annotations

import struct
import zlib


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width: int, height: int, *, raw: bytes | None = None) -> bytes:
    """A valid 8-bit RGB PNG (all white), or with the given raw (filtered) stream."""
    if raw is None:
        raw = (b"\x00" + b"\xff" * (3 * width)) * height
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(raw, 9)) + _chunk(b"IEND", b""))


def _pillow(width: int, height: int, fmt: str, **options) -> bytes:
    from io import BytesIO

    from PIL import Image
    out = BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, fmt, **options)
    return out.getvalue()


def gif(width: int, height: int) -> bytes:
    """A real GIF of that size (Pillow)."""
    return _pillow(width, height, "GIF")


def gif_with_huge_frame(width: int, height: int) -> bytes:
    """A GIF whose screen is width x height but whose image descriptor claims 65535 x 65535."""
    return (b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\xff\xff\xff\x00\x00\x00"
            + b"\x2c" + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + b"\x02\x02\x44\x01\x00\x3b")


def jpeg(width: int, height: int) -> bytes:
    """A real JPEG of that size (Pillow)."""
    return _pillow(width, height, "JPEG")


def pdf(pages: int = 2) -> bytes:
    import pymupdf
    doc = pymupdf.open()
    for i in range(pages):
        page = doc.new_page()
        page.insert_text((72, 72), f"Slide {i + 1}")
    return doc.tobytes()
