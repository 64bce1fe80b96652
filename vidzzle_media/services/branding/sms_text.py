"""How much of one SMS a text uses (R-BRAND-3): GSM 03.38 7-bit vs UCS-2.

A text made only of the GSM-7 default alphabet costs one septet per
character, characters of the extension table (``^{}\\[~]|€`` and form
feed) two (escape + char); one segment holds 160 septets, a concatenated
segment 153. Any other character switches the whole message to UCS-2: one
unit per UTF-16 code unit (an emoji outside the BMP costs two), 70 per
segment, 67 when concatenated. web/js/admin-sms-counter.js mirrors this.
"""

from __future__ import annotations

from dataclasses import dataclass

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = "\f^{}\\[~]|€"
_BASIC = frozenset(GSM7_BASIC)
_EXT = frozenset(GSM7_EXTENSION)

SINGLE = {"gsm7": 160, "ucs2": 70}
MULTI = {"gsm7": 153, "ucs2": 67}


@dataclass(frozen=True)
class SmsCount:
    """The cost of one text."""

    encoding: str
    """``gsm7`` or ``ucs2``."""
    units: int
    """Septets (gsm7) or UTF-16 code units (ucs2)."""
    segments: int
    """SMS needed (1 up to the single-segment limit)."""
    left_in_one: int
    """Units still free in a single SMS; negative when it no longer fits one."""


def is_gsm7(text: str) -> bool:
    return all(ch in _BASIC or ch in _EXT for ch in text)


def count(text: str) -> SmsCount:
    if is_gsm7(text):
        encoding = "gsm7"
        units = sum(2 if ch in _EXT else 1 for ch in text)
    else:
        encoding = "ucs2"
        units = len(text.encode("utf-16-le")) // 2
    single, multi = SINGLE[encoding], MULTI[encoding]
    segments = 1 if units <= single else -(-units // multi)
    return SmsCount(encoding, units, segments, single - units)


def with_link(text: str, link: str) -> str:
    """The message as sent: the text, one space, the link (R-BRAND-3: appended automatically)."""
    text = text.strip()
    return f"{text} {link}" if text else link


def left_after_link(text: str, link: str) -> SmsCount:
    """The count of the message as sent with ``link`` appended."""
    return count(with_link(text, link))
