"""Presentation page changes reach every receiver; encoded once per change."""

import asyncio
from dataclasses import dataclass

import pymupdf

from vidzzle_media.sfu import Room
from vidzzle_media.sfu.presentation import Presentation

from .peers import Client, join, wait_for


@dataclass
class Doc:
    id: str
    title: str
    pdf_path: str
    pages_dir: str = ""     # rendered here, from the PDF (uploads come with rendered pages)


def make_pdf(path, colors):
    doc = pymupdf.open()
    for color in colors:
        page = doc.new_page(width=640, height=360)
        page.draw_rect(page.rect, color=color, fill=color)
    doc.save(str(path))
    return str(path)


def dominant(frame):
    img = frame.to_ndarray(format="rgb24")
    return tuple(int(v) for v in img[img.shape[0] // 2, img.shape[1] // 2])


async def test_page_changes_reach_every_receiver(ice, tmp_path):
    pdf = make_pdf(tmp_path / "a.pdf", [(1, 0, 0), (0, 0, 1)])
    pdf2 = make_pdf(tmp_path / "b.pdf", [(0, 1, 0)])
    room = Room(ice)
    presentation = Presentation([Doc("d1", "Red/Blue", pdf), Doc("d2", "Green", pdf2)],
                                width=640, height=352)
    await presentation.start()
    room.add_producer(presentation.producer)
    clients = [Client(audio=False, video=False) for _ in range(3)]
    last = {}
    try:
        for i, c in enumerate(clients):
            await join(room, c, f"c{i}")

        async def watch():
            while True:
                for c in clients:
                    rec = c.video_received()
                    if rec and rec[0].last_frame is not None:
                        last[c] = dominant(rec[0].last_frame)
                await asyncio.sleep(0.02)

        watchers = [asyncio.ensure_future(watch())]
        await wait_for(lambda: len(last) == 3 and all(v[0] > 200 and v[2] < 60 for v in last.values()), timeout=5)
        encodes = presentation.stats.encodes
        assert (await presentation.next()).page == 2
        await wait_for(lambda: all(v[2] > 200 and v[0] < 60 for v in last.values()), timeout=5)
        state = await presentation.switch("d2")
        assert (state.document_id, state.page, state.page_count) == ("d2", 1, 1)
        await wait_for(lambda: all(v[1] > 200 and v[0] < 60 for v in last.values()), timeout=5)
        # one encode per page change, however many receivers and key-frame requests
        assert presentation.stats.encodes == encodes + 2
        assert (await presentation.goto(1)).page == 1  # same page: nothing encoded
        assert presentation.stats.encodes == encodes + 2
        for w in watchers:
            w.cancel()
    finally:
        await presentation.close()
        await room.close()
        for c in clients:
            await c.close()
