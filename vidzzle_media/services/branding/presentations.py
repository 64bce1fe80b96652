"""The presentation library (R-BRAND-4): upload, check, thumbnail, default, delete,
and the documents a new call room shows.

An upload is checked by content (``%PDF-`` header, size limit) and then
opened and its first page rendered ONCE in a child process
(services/pdf_probe.py) with an address-space and CPU limit and a
wall-clock timeout: a hostile PDF can stall or crash only that child, never
the server's event loop. The PDF is kept beside the database file (``<data_dir>/presentations/
<tenant>/`` with the default database path) under a random name; the row stores title, page count and the
page-1 thumbnail (PNG).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ... import pdf_pages
from ...errors import NotFound, ValidationError
from ...i18n import N_, gettext
from ...store import presentations as store
from ...store.database import utcnow
from ...store.presentations import PresentationRow

log = logging.getLogger(__name__)

MAX_PDF_BYTES = 20 * 1024 * 1024
MAX_PAGES = 200
MAX_PRESENTATIONS = 50
PROBE_TIMEOUT_S = 20.0
PROBE_CPU_S = 15
PROBE_MEMORY_BYTES = 1024 * 1024 * 1024
DIR = "presentations"


@dataclass(frozen=True)
class PresentationDocument:
    """What a call room needs (signalling.rooms.Document has the same fields)."""

    id: str
    title: str
    pdf_path: str
    pages_dir: str
    """Every page rendered at upload (the call only loads these images)."""


def probe_command() -> list[str]:
    """How the probe child is started: the CLI's hidden ``probe-pdf`` command
    (the one-file binary is its own interpreter and has no ``-m``)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "probe-pdf"]
    return [sys.executable, "-m", "vidzzle_media", "probe-pdf"]


PROBE_ERRORS = {
    "unreadable": N_("The file cannot be opened as a PDF (%(detail)s)."),
    "password": N_("The PDF is password protected."),
    "no_pages": N_("The PDF has no pages."),
    "too_many_pages": N_("The PDF has %(pages)s pages; at most %(max)s are allowed."),
    "render": N_("The first page cannot be rendered (%(detail)s)."),
    "memory": N_("The PDF needs too much memory to render."),
    "render_page": N_("Page %(page)s cannot be rendered (%(detail)s)."),
    "too_large_output": N_("The pages of this PDF are too large to show in a call; make it smaller or simpler."),
    "unknown": N_("The PDF could not be rendered (it uses too much memory or time, or is damaged)."),
}
"""What the probe process (pdf_probe.py, no language of its own) reports, as the uploader reads it."""


def pages_dir_of(pdf_path: Path) -> Path:
    """Where a stored PDF's rendered pages live (beside it)."""
    return pdf_path.with_suffix(".pages")


async def probe(pdf_path: Path, thumb_path: Path, *, timeout: float = PROBE_TIMEOUT_S) -> int:
    """Page count after a bounded render of page 1 into ``thumb_path`` and of
    every page into ``pages_dir_of(pdf_path)``; ValueError with the reason otherwise."""
    pages_dir = pages_dir_of(pdf_path)
    shutil.rmtree(pages_dir, ignore_errors=True)
    pages_dir.mkdir(parents=True)
    proc = await asyncio.create_subprocess_exec(
        *probe_command(), str(pdf_path), str(thumb_path), str(MAX_PAGES),
        str(PROBE_CPU_S), str(PROBE_MEMORY_BYTES), str(pages_dir),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL, stdin=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise ValueError(gettext("The PDF takes too long to render.")) from None
    try:
        result = json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError, AttributeError):
        result = {}
    if not isinstance(result, dict):
        result = {}
    if "pages" in result and proc.returncode == 0:
        return int(result["pages"])
    shutil.rmtree(pages_dir, ignore_errors=True)
    message = PROBE_ERRORS.get(str(result.get("error")), PROBE_ERRORS["unknown"])
    raise ValueError(gettext(message, detail=str(result.get("detail", ""))[:80], pages=result.get("pages", "?"),
                             max=result.get("max", MAX_PAGES), page=result.get("page", "?")))


def _title(title: str, filename: str) -> str:
    title = " ".join((title or "").split())[:120]
    if title:
        return title
    stem = Path(filename or "").stem
    return " ".join(stem.replace("_", " ").split())[:120] or gettext("Presentation")


def files_root(db) -> Path:
    """The folder the PDFs live in: the database's (beside its SQLite file; no global configuration needed)."""
    return Path(db.files_dir)


async def upload(db, tenant_id: int, data: bytes, *, filename: str = "", title: str = "",
                 make_default: bool = False) -> int:
    """Check, render once, store; the first upload of a tenant becomes its default."""
    if not data:
        raise ValidationError(fields={"file": gettext("Choose a PDF file.")})
    if len(data) > MAX_PDF_BYTES:
        raise ValidationError(fields={"file": gettext("The file is too large (at most %(size)s MB).",
                                                      size=MAX_PDF_BYTES // (1024 * 1024))})
    if not data[:1024].lstrip().startswith(b"%PDF-"):
        raise ValidationError(fields={"file": gettext("The file is not a PDF.")})
    if await store.count(db, tenant_id) >= MAX_PRESENTATIONS:
        raise ValidationError(fields={"file": gettext("At most %(count)s presentations; delete one first.",
                                                      count=MAX_PRESENTATIONS)})
    data_dir = files_root(db)
    folder = data_dir / DIR / str(tenant_id)
    folder.mkdir(parents=True, exist_ok=True)
    relative = f"{DIR}/{tenant_id}/{secrets.token_hex(16)}.pdf"
    target = data_dir / relative
    await asyncio.to_thread(target.write_bytes, data)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            thumb_path = Path(tmp) / "thumb.png"
            try:
                pages = await probe(target, thumb_path)
            except ValueError as exc:
                raise ValidationError(fields={"file": str(exc)}) from None
            thumbnail = await asyncio.to_thread(thumb_path.read_bytes)
        async with db.transaction() as conn:
            first = await store.count(conn, tenant_id) == 0
            new_id = await store.insert(conn, tenant_id=tenant_id, title=_title(title, filename), file_name=relative,
                                        size_bytes=len(data), pages=pages, thumbnail=thumbnail,
                                        make_default=make_default or first, at=utcnow())
            if db.shared:       # the other nodes fetch it from the store (``documents``)
                await store.put_file(conn, new_id, data)
    except BaseException:
        target.unlink(missing_ok=True)
        shutil.rmtree(pages_dir_of(target), ignore_errors=True)
        raise
    log.info("presentation %d uploaded for tenant %d (%d pages)", new_id, tenant_id, pages)
    return new_id


async def library(db, tenant_id: int) -> list[PresentationRow]:
    return await store.list_for_tenant(db, tenant_id)


async def thumbnail(db, tenant_id: int, presentation_id: int) -> bytes:
    found = await store.thumbnail(db, tenant_id, presentation_id)
    if found is None:
        raise NotFound(gettext("No such presentation."))
    return found


async def set_default(db, tenant_id: int, presentation_id: int) -> None:
    async with db.transaction() as conn:
        if not await store.set_default(conn, tenant_id, presentation_id):
            raise NotFound(gettext("No such presentation."))


async def delete(db, tenant_id: int, presentation_id: int) -> None:
    """Remove row and file (rooms already running keep their open document)."""
    async with db.transaction() as conn:
        row = await store.delete(conn, tenant_id, presentation_id)
        if row is None:
            raise NotFound(gettext("No such presentation."))
        if row.is_default:   # the newest remaining one takes over
            rest = await store.list_for_tenant(conn, tenant_id)
            if rest:
                await store.set_default(conn, tenant_id, rest[0].id)
    (files_root(db) / row.file_name).unlink(missing_ok=True)
    shutil.rmtree(pages_dir_of(files_root(db) / row.file_name), ignore_errors=True)


async def documents(db, tenant_id: int) -> list[PresentationDocument]:
    """Default first, then the rest of the library; files that vanished are
    skipped. A document uploaded before pages were rendered at upload gets
    them now, in the bounded child process."""
    base = files_root(db)
    result = []
    for row in await store.list_for_tenant(db, tenant_id):
        path = base / row.file_name
        if not path.is_file() and not (db.shared and await _fetch(db, row.id, path)):
            log.warning("presentation %d of tenant %d: file missing", row.id, tenant_id)
            continue
        pages_dir = pages_dir_of(path)
        if pdf_pages.page_count(pages_dir) == 0:
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    await probe(path, Path(tmp) / "thumb.png")
            except ValueError as exc:
                log.warning("presentation %d of tenant %d cannot be shown: %s", row.id, tenant_id, exc)
                continue
        result.append(PresentationDocument(str(row.id), row.title, str(path), str(pages_dir)))
    return result


async def _fetch(db, presentation_id: int, path: Path) -> bool:
    """A PDF uploaded on another node of a shared store: from the store into
    this node's data_dir, where it stays as the cache it is (its pages are
    rendered next, as for an old upload). False when the store has none."""
    data = await store.get_file(db, presentation_id)
    if data is None:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + f".{secrets.token_hex(4)}.part")
    await asyncio.to_thread(partial.write_bytes, data)
    partial.replace(path)
    return True
