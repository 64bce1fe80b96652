"""Where the static web clients are: inside the wheel, or in the checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def web_root() -> Path:
    """The `web/` folder: shipped as ``vidzzle_media/web`` in the wheel,
    the top-level ``web/`` when running from a source checkout."""
    bundled = _PACKAGE / "web"
    if bundled.is_dir():
        return bundled
    return _PACKAGE.parent / "web"
