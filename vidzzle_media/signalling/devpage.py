"""``/dev/room``: try a call by hand before the real clients exist.

Only registered with ``server.dev_pages = true``. The first tab creates a demo
room (with a generated two-page PDF as presentation) and joins as agent; the
link it shows lets other tabs join the same room as invitees.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pymupdf
from aiohttp import web

from ..paths import web_root
from ..values import RoomRole
from .rooms import Document

_demo: list[str] = []  # generated once per process, on first use


def _demo_pdf() -> str:
    path = Path(tempfile.mkdtemp(prefix="vidzzle-dev-")) / "demo.pdf"
    doc = pymupdf.open()
    for i, color in enumerate([(0.1, 0.3, 0.7), (0.8, 0.4, 0.1)], 1):
        page = doc.new_page(width=960, height=540)
        page.draw_rect(page.rect, color=color, fill=color)
        page.insert_text((60, 280), f"Vidzzle demo presentation - page {i}", fontsize=40, color=(1, 1, 1))
    doc.save(str(path))
    return str(path)


async def room_page(request: web.Request) -> web.FileResponse:
    return web.FileResponse(web_root() / "dev" / "room.html")


async def new_token(directory, request: web.Request) -> web.Response:
    """POST {room_id?, display_name} -> {room_id, token}; no room_id: a new room."""
    body = await request.json()
    room_id = body.get("room_id") or ""
    name = str(body.get("display_name") or "")[:80]
    role = RoomRole.INVITEE
    if not room_id or directory.entry(room_id) is None:
        if not _demo:
            _demo.append(_demo_pdf())
        room_id = await directory.create_room([Document("demo", "Demo", _demo[0])])
        role = RoomRole.AGENT
    return web.json_response({"room_id": room_id, "role": role,
                              "token": directory.issue_token(room_id, role, name)})


def setup(app: web.Application, directory) -> None:
    app.router.add_get("/dev/room", room_page)
    app.router.add_post("/dev/room/token", functools.partial(new_token, directory))
