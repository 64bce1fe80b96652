"""Every page of an uploaded PDF is rendered once, at upload, in the bounded
child process; a call only loads those images, so changing pages never
renders a PDF in the server process (a heavy page cannot stall calls)."""

from __future__ import annotations

from pathlib import Path

import pymupdf
from admin.helpers import database, make_tenant

from vidzzle_media import pdf_pages
from vidzzle_media.services.branding import presentations
from vidzzle_media.sfu.presentation import Presentation

from .media import pdf


async def test_pages_are_rendered_at_upload_and_only_loaded_in_the_call(client, monkeypatch):
    db = database(client)
    tenant = await make_tenant(db, "Pages Cars")
    await presentations.upload(db, tenant, pdf(3), filename="deck.pdf")
    (document,) = await presentations.documents(db, tenant)
    assert pdf_pages.page_count(document.pages_dir) == 3
    image = pymupdf.Pixmap(str(pdf_pages.page_file(document.pages_dir, 1)))
    assert (image.width, image.height) == pdf_pages.VIDEO_SIZE

    def no_rendering_here(*args, **kwargs):
        raise AssertionError("a PDF page was rendered in the server process")

    monkeypatch.setattr(pymupdf.Page, "get_pixmap", no_rendering_here)
    presentation = Presentation([document])
    await presentation.start()
    try:
        assert (await presentation.goto(3)).page == 3
        assert (await presentation.goto(2)).page == 2
        assert presentation.stats.encodes == 3
    finally:
        await presentation.close()


async def test_deleting_removes_the_rendered_pages(client):
    db = database(client)
    tenant = await make_tenant(db, "Gone Cars")
    new_id = await presentations.upload(db, tenant, pdf(2), filename="deck.pdf")
    (document,) = await presentations.documents(db, tenant)
    assert Path(document.pages_dir).is_dir()
    await presentations.delete(db, tenant, new_id)
    assert not Path(document.pages_dir).exists() and not Path(document.pdf_path).exists()


async def test_a_document_uploaded_before_gets_its_pages_in_the_child(client):
    import shutil
    db = database(client)
    tenant = await make_tenant(db, "Old Cars")
    await presentations.upload(db, tenant, pdf(2), filename="old.pdf")
    (document,) = await presentations.documents(db, tenant)
    shutil.rmtree(document.pages_dir)                     # as stored by an earlier version
    (again,) = await presentations.documents(db, tenant)
    assert pdf_pages.page_count(again.pages_dir) == 2
