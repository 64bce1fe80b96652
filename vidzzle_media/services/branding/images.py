"""Checking uploaded mail images (R-BRAND-5) by their content, without decoding them.

The format comes from the magic bytes (the file name is ignored: a GIF
named .jpg is stored and sent as image/gif), the dimensions from the
format's own header, and they must be exact. Nothing is ever decoded into
pixels here, so a "decompression bomb" cannot cost memory: the byte limit
bounds the input, the exact dimensions bound what a mail client decodes,
and for PNG the compressed stream is inflated with a hard output cap equal
to the size the header promises (more data = rejected as a bomb, less =
rejected as truncated). Chunk CRCs are verified.

Only then does Pillow decode it, every frame of it (a GIF's frames can
claim 65535x65535 behind a small screen size): each frame must lie inside
the image, there are at most MAX_FRAMES, and Pillow's own pixel limit
stays armed. What a mail client will decode is thereby known to decode.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from io import BytesIO

from PIL import Image, ImageOps, ImageSequence

from ...i18n import gettext

MAX_IMAGE_BYTES = 1024 * 1024
MAX_FRAMES = 100
MAX_PIXELS = 600 * 300 * 4
"""Pillow's decompression-bomb limit for these small slots (it refuses twice this)."""
SIZES = {"header": (600, 102), "hero": (600, 300)}
MIME = {"png": "image/png", "gif": "image/gif", "jpeg": "image/jpeg"}


class ImageProblem(ValueError):
    """Why an upload is refused (the message is shown to the user)."""


@dataclass(frozen=True)
class ImageInfo:
    """What the header of an image says."""

    format: str
    """png, gif or jpeg (by content)."""
    width: int
    height: int

    @property
    def mime(self) -> str:
        return MIME[self.format]


_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


PngHeader = tuple[int, int, int, int, int, int, int]
"""IHDR: width, height, bit depth, colour type, compression, filter, interlace."""


def _png(data: bytes) -> tuple[ImageInfo, tuple[PngHeader, bytes]]:
    """The PNG's info, its header and its joined IDAT stream (chunks and checksums checked)."""
    pos, idat = 8, []
    header: PngHeader | None = None
    while pos + 12 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length or pos + 12 + length > len(data):
            raise ImageProblem(gettext("The PNG file is truncated."))
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        if zlib.crc32(kind + body) != crc:
            raise ImageProblem(gettext("The PNG file is damaged (checksum error)."))
        if header is None and kind != b"IHDR":
            raise ImageProblem(gettext("The PNG file has no header."))
        if kind == b"IHDR":
            if length != 13:
                raise ImageProblem(gettext("The PNG header is malformed."))
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    else:
        raise ImageProblem(gettext("The PNG file is truncated."))
    if header is None:
        raise ImageProblem(gettext("The PNG file has no header."))
    width, height, depth, color, _, _, interlace = header
    if color not in _PNG_CHANNELS or depth not in (1, 2, 4, 8, 16) or width == 0 or height == 0:
        raise ImageProblem(gettext("The PNG header is malformed."))
    return ImageInfo("png", width, height), (header, b"".join(idat))


def _png_expected(width: int, height: int, depth: int, color: int, interlace: int) -> int:
    bits = _PNG_CHANNELS[color] * depth
    row = lambda w: 0 if w == 0 else 1 + (w * bits + 7) // 8   # noqa: E731  filter byte + pixels
    if not interlace:
        return height * row(width)
    total = 0   # Adam7: seven sub-images
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)):
        w, h = max(0, -(-(width - x0) // dx)), max(0, -(-(height - y0) // dy))
        total += h * row(w) if w else 0
    return total


def _check_png_stream(header, stream: bytes) -> None:
    """Inflate with a hard cap: never more than the header promises (+1 byte to notice excess)."""
    width, height, depth, color, _, _, interlace = header
    expected = _png_expected(width, height, depth, color, interlace)
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(stream, expected + 1)
    except zlib.error:
        raise ImageProblem(gettext("The PNG image data is damaged.")) from None
    if len(out) > expected or inflater.unconsumed_tail:
        raise ImageProblem(gettext("The PNG image data is larger than its dimensions allow (decompression bomb?)."))
    if len(out) < expected:
        raise ImageProblem(gettext("The PNG image data is truncated."))


def _gif(data: bytes) -> ImageInfo:
    if len(data) < 13:
        raise ImageProblem(gettext("The GIF file is truncated."))
    width, height = struct.unpack("<HH", data[6:10])
    return ImageInfo("gif", width, height)


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(data: bytes) -> ImageInfo:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise ImageProblem(gettext("The JPEG file is malformed."))
        marker = data[pos + 1]
        if marker == 0xFF:   # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if length < 2:
            raise ImageProblem(gettext("The JPEG file is malformed."))
        if marker in _SOF:
            if pos + 9 > len(data):
                break
            height, width = struct.unpack(">HH", data[pos + 5:pos + 9])
            return ImageInfo("jpeg", width, height)
        if marker in (0xD9, 0xDA):   # end of image / start of scan before any frame header
            break
        pos += 2 + length
    raise ImageProblem(gettext("The JPEG file has no frame header."))


def inspect(data: bytes) -> ImageInfo:
    """Format and dimensions by content (ImageProblem if not png/gif/jpeg or malformed)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        info, (header, stream) = _png(data)
        _check_png_stream(header, stream)
        return info
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return _gif(data)
    if data.startswith(b"\xff\xd8\xff"):
        return _jpeg(data)
    raise ImageProblem(gettext("The file is not a PNG, GIF or JPEG image."))


def check_upload(kind: str, data: bytes) -> ImageInfo:
    """Validate an upload for slot ``kind`` (header/hero): size, format, exact dimensions."""
    if kind not in SIZES:
        raise ImageProblem(gettext("Unknown image slot."))
    if not data:
        raise ImageProblem(gettext("The file is empty."))
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageProblem(gettext("The file is too large (at most %(size)s KiB).", size=MAX_IMAGE_BYTES // 1024))
    want = SIZES[kind]
    if data.startswith(b"\x89PNG\r\n\x1a\n"):   # dimensions first: a bomb declaring huge sizes is never inflated
        info, (header, stream) = _png(data)
        if (info.width, info.height) != want:
            raise _size_problem(info, want)
        _check_png_stream(header, stream)
        decode_every_frame(data, want)      # an APNG has frames too
        return info
    info = inspect(data)
    if (info.width, info.height) != want:
        raise _size_problem(info, want)
    decode_every_frame(data, want)
    return info


PICTURE_SIZE = 160
"""A group picture is shown as a PICTURE_SIZE square (a circle on the customer's waiting view)."""
MAX_PICTURE_SIDE = 1024


def square_picture(data: bytes) -> bytes:
    """Check an uploaded picture like the mail images (format by content,
    byte limit, dimensions from the header before anything is decoded,
    every frame decoded under Pillow's pixel limit) and return it as a
    PICTURE_SIZE square PNG of its first frame, centre-cropped: nothing of
    the upload but its pixels ever reaches a customer's browser."""
    if not data:
        raise ImageProblem(gettext("The file is empty."))
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageProblem(gettext("The file is too large (at most %(size)s KiB).", size=MAX_IMAGE_BYTES // 1024))
    info = inspect(data)
    if max(info.width, info.height) > MAX_PICTURE_SIDE or min(info.width, info.height) < 32:
        raise ImageProblem(gettext("The image is %(width)s×%(height)s pixels; it must be between 32 and %(max)s "
                                   "pixels wide and high.", width=info.width, height=info.height,
                                   max=MAX_PICTURE_SIDE))
    decode_every_frame(data, (info.width, info.height))
    with Image.open(BytesIO(data)) as image:
        square = ImageOps.fit(image.convert("RGBA"), (PICTURE_SIZE, PICTURE_SIZE))
    out = BytesIO()
    square.save(out, "PNG", optimize=True)
    return out.getvalue()


def decode_every_frame(data: bytes, want: tuple[int, int]) -> None:
    """Decode every frame with Pillow; refuse frames outside the image, too many frames, undecodable data."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    width, height = want
    try:
        with Image.open(BytesIO(data)) as image:
            for number, frame in enumerate(ImageSequence.Iterator(image)):
                if number >= MAX_FRAMES:
                    raise ImageProblem(gettext("The image has too many frames (at most %(count)s).", count=MAX_FRAMES))
                for tile in frame.tile:  # type: ignore[attr-defined]  # ImageFile's, untyped in Pillow's stubs
                    x0, y0, x1, y1 = tile[1]
                    if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
                        raise ImageProblem(gettext("A frame of the image is larger than the image itself."))
                if frame.size != want:
                    raise ImageProblem(gettext("A frame of the image is larger than the image itself."))
                frame.load()
    except ImageProblem:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageProblem(gettext("The image data is larger than its dimensions allow (decompression bomb?).")) from None
    except Exception:   # Pillow raises OSError, SyntaxError, ValueError, EOFError... on broken data
        raise ImageProblem(gettext("The image data is damaged or incomplete.")) from None


def _size_problem(info: ImageInfo, want: tuple[int, int]) -> ImageProblem:
    return ImageProblem(gettext("The image is %(width)s×%(height)s pixels; it must be exactly %(want_width)s×%(want_height)s.",
                                width=info.width, height=info.height, want_width=want[0], want_height=want[1]))
