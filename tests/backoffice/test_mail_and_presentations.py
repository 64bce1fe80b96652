"""Every template through the real outbox into aiosmtpd with the tenant's
branding; presentations (upload limits, malformed, default first in rooms);
branding reaching SMS and the public GDPR endpoint."""

from __future__ import annotations

import sys

import aiohttp
import pytest

from tests.admin.helpers import database
from vidzzle_media.keys import OUTBOX
from vidzzle_media.services.branding import brand as branding
from vidzzle_media.services.branding import presentations
from vidzzle_media.services.branding.mail_templates import TEMPLATES
from vidzzle_media.services.calls.notify import incoming_call_sms_text, presentation_documents
from vidzzle_media.services.outbox.mail import queue_mail

from .media import gif, pdf, png


async def test_every_template_arrives_branded(smtp_server, client, world):
    db = database(client)
    await branding.save_section(db, world.tenant_a, "email", {
        "sender_address": "video@alpha.example", "signature": "__DEALER_NAME__\n__DEALER_STREET__, __DEALER_ZIP__ __DEALER_CITY__\n__DEALER_EMAIL__"}, "en")
    header, hero = png(600, 102), gif(600, 300)
    await branding.save_image(db, world.tenant_a, "header", header)
    await branding.save_image(db, None, "hero", hero)     # system default hero, inherited
    await branding.save_template(db, world.tenant_a, "call_invitation", {
        "subject": "Your video call with Alpha", "body": '<p>Hi __RECIPIENT_NAME__ from __SENDER_NAME__ at '
                                                         '__DEALER_COMPANY_NAME__ (__APPNAME__)</p><p><a href="__LINK__">Join</a></p>'}, "en")
    async with db.transaction() as conn:
        for name in TEMPLATES:
            await queue_mail(conn, template=name, tenant_id=world.tenant_a, to_email="kunde@example.com",
                             to_name="Kim Kunde", link="https://video.example/x/abc", sender_name="Alice Admin")
    client.server.app[OUTBOX].wake()
    mails = await smtp_server.wait(len(TEMPLATES))
    subjects = {m["Subject"] for m in mails}
    assert "Your video call with Alpha" in subjects
    for mail in mails:
        assert mail["From"].addresses[0].addr_spec == "video@alpha.example"
        assert mail.get_content_type() == "multipart/alternative"
        plain = mail.get_body(("plain",)).get_content()
        html_part = mail.get_body(("html",))
        html = html_part.get_content()
        related = [p for p in mail.walk() if p.get("Content-ID")]
        assert {p.get_content_type() for p in related} == {"image/png", "image/gif"}
        assert {p.get_payload(decode=True) for p in related} == {header, hero}
        for p in related:
            assert f'cid:{p["Content-ID"].strip("<>")}' in html
        for text in (plain, html, mail["Subject"]):
            assert "__" not in text, text
        assert "Alpha Cars" in plain and "Main St 1, 12345 Town" in plain and "Alpha Cars" in html
        if mail["Subject"] == "Your video call with Alpha":
            assert "Hi Kim Kunde from Alice Admin at Alpha Cars (Vidzzle Media)" in plain
            assert "https://video.example/x/abc" in plain and 'href="https://video.example/x/abc"' in html


async def test_preview_and_test_mail(smtp_server, client, world, browser):
    await browser.login("admin.a@example.com")
    page = await browser.get("/admin/branding/templates/call_notification")
    assert 'sandbox=""' in page.text and "data:image/png;base64," in page.text and "Hello Alice Admin" in page.text
    page = await browser.post("/admin/branding/templates/call_notification",
                              {"subject": "Draft subject", "body": '<p>Draft __LINK__</p>', "action": "preview"})
    assert 'id="preview-subject">Draft subject<' in page.text
    page = await browser.post("/admin/branding/templates/call_notification/test")
    assert "Test mail queued to admin.a@example.com" in page.text
    [mail] = await smtp_server.wait(1)
    assert mail["To"].addresses[0].addr_spec == "admin.a@example.com" and mail["Subject"] == "Incoming video call"


async def _upload(browser, data: bytes, filename: str = "deck.pdf", **fields):
    form = aiohttp.FormData()
    form.add_field("csrf_token", browser.token)
    for key, value in fields.items():
        form.add_field(key, value)
    form.add_field("file", data, filename=filename, content_type="application/pdf")
    async with browser.session.post(f"{browser.base}/admin/presentations", data=form) as resp:
        return resp.status, await resp.text()


async def test_presentation_library(client, world, browser, monkeypatch):
    db = database(client)
    await browser.login("admin.a@example.com")
    await browser.get("/admin/presentations")
    status, text = await _upload(browser, pdf(3), title="Price list")
    assert status == 200 and "Presentation uploaded" in text and "Price list" in text
    status, _ = await _upload(browser, pdf(1), filename="Spring_offers.pdf", make_default="1")
    assert status == 200
    docs = await presentation_documents(db, world.tenant_a)
    assert [d.title for d in docs] == ["Spring offers", "Price list"]
    assert all(d.pdf_path.endswith(".pdf") for d in docs)
    assert await presentation_documents(db, world.tenant_b) == []
    rows = await presentations.library(db, world.tenant_a)
    async with browser.session.get(f"{browser.base}/admin/presentations/{rows[0].id}/thumbnail.png") as resp:
        assert resp.status == 200 and (await resp.read()).startswith(b"\x89PNG")
    # malformed, not a PDF, too large, too many pages
    status, text = await _upload(browser, b"%PDF-1.4\n1 0 obj garbage\n%%EOF")
    assert status == 400 and ("cannot be opened" in text or "has no pages" in text)
    status, text = await _upload(browser, png(600, 102), filename="x.pdf")
    assert status == 400 and "not a PDF" in text
    monkeypatch.setattr(presentations, "MAX_PDF_BYTES", 1000)
    status, text = await _upload(browser, pdf(2))
    assert status == 400 and "too large" in text
    monkeypatch.setattr(presentations, "MAX_PDF_BYTES", 20 * 1024 * 1024)
    monkeypatch.setattr(presentations, "MAX_PAGES", 2)
    status, text = await _upload(browser, pdf(3))
    assert status == 400 and "3 pages; at most 2" in text
    # another tenant cannot touch them (404), delete moves the default on
    other = type(browser)(browser.base)
    await other.login("admin.b@example.com")
    page = await other.post(f"/admin/presentations/{rows[0].id}/delete")
    assert page.status == 404
    await other.close()
    await browser.post(f"/admin/presentations/{rows[0].id}/delete")
    docs = await presentation_documents(db, world.tenant_a)
    assert [d.title for d in docs] == ["Price list"]


async def test_hung_renderer_is_killed(tmp_path, monkeypatch):
    """A PDF whose rendering never ends must not stall the server: the child is killed at the timeout."""
    (tmp_path / "hang_probe.py").write_text("import time\ntime.sleep(60)\n")
    monkeypatch.setattr(presentations, "probe_command", lambda: [sys.executable, str(tmp_path / "hang_probe.py")])
    slow = tmp_path / "slow.pdf"
    slow.write_bytes(pdf(1))
    import time
    started = time.monotonic()
    with pytest.raises(ValueError, match="too long"):
        await presentations.probe(slow, tmp_path / "t.png", timeout=1.0)
    assert time.monotonic() - started < 5


async def test_memory_hungry_render_is_refused(tmp_path, monkeypatch):
    """The child's address-space limit turns a memory bomb into a refusal."""
    monkeypatch.setattr(presentations, "PROBE_MEMORY_BYTES", 64 * 1024 * 1024)
    doc = tmp_path / "ok.pdf"
    doc.write_bytes(pdf(1))
    with pytest.raises(ValueError):
        await presentations.probe(doc, tmp_path / "t.png")


async def test_branding_reaches_sms_and_gdpr_endpoint(client, world, browser):
    db = database(client)
    await branding.save_section(db, world.tenant_a, "sms", {"sms_invitation": "Alpha lädt ein:",
                                                            "sms_notification": "Alpha: Anruf wartet"}, "en")
    await branding.save_section(db, world.tenant_a, "gdpr", {"gdpr_text": "Alpha privacy text", "gdpr_outgoing": "1"}, "en")
    async with db.transaction() as conn:
        assert await incoming_call_sms_text(conn, world.tenant_a) == "Alpha: Anruf wartet"
        assert await incoming_call_sms_text(conn, world.tenant_b) == "Incoming video call. Open it here:"
    assert await branding.invitation_sms_text(db, world.tenant_a) == "Alpha lädt ein:"
    notice = await branding.gdpr_notice(db, world.tenant_a)
    assert notice.text == "Alpha privacy text" and notice.outgoing
    from vidzzle_media.services.calls import followup
    assert (await followup.gdpr_notice(db, world.tenant_a)).outgoing
    # the public endpoint embed.js calls
    from vidzzle_media.store import flows as flow_store
    from vidzzle_media.store import groups as group_store  # noqa: F401
    flows = await flow_store.list_flows(db, world.tenant_a)
    if flows:
        resp = await client.get(f"/api/embed/{flows[0].embed_id}/gdpr")
        assert (await resp.json())["text"] == "Alpha privacy text"
