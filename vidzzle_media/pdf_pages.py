"""A presentation page as the call shows it: one PDF page letterboxed on a
white canvas of the video size. The upload's probe process renders every
page like this once (services/branding/pdf_probe.py); the call only loads
the stored images (sfu/presentation.py), so a heavy page can cost the
bounded child process time, never the server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

VIDEO_SIZE = (1280, 720)


def letterboxed(page: Any, width: int, height: int) -> Any:
    """``page`` (a PyMuPDF page) scaled to fit width x height, centred on white
    (a PyMuPDF Pixmap). PyMuPDF is imported here, not at module level: the
    server process only reads stored pages and never loads it."""
    import pymupdf

    zoom = min(width / page.rect.width, height / page.rect.height)
    pix = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False)
    canvas = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, width, height), False)
    canvas.clear_with(255)
    pix.set_origin((width - pix.width) // 2, (height - pix.height) // 2)
    canvas.copy(pix, pix.irect)
    return canvas


def page_file(pages_dir: str | Path, index: int) -> Path:
    """Where page ``index`` (0-based) of a rendered document is stored."""
    return Path(pages_dir) / f"{index + 1:04d}.png"


def page_count(pages_dir: str | Path) -> int:
    return len(list(Path(pages_dir).glob("[0-9][0-9][0-9][0-9].png")))
