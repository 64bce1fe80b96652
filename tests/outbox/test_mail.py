"""Mail: the five templates rendered, sent to a real SMTP server (aiosmtpd), and
kept queued while no SMTP server is configured or reachable."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from smtpcapture import free_port, start_smtp

from vidzzle_media.services.branding.mail_templates import DEFAULT_TEMPLATES, TEMPLATES, validate_template
from vidzzle_media.services.outbox import worker as outbox
from vidzzle_media.services.outbox.mail import queue_mail
from vidzzle_media.store import outbox as outbox_store

LINK = "https://video.example.com/t/abc?x=1&y=<2>"


def parts(message):
    """(text/plain, text/html, [images]) of a multipart/alternative message."""
    assert message.get_content_type() == "multipart/alternative"
    plain, related = message.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, *images = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    return plain.get_content(), html_part.get_content(), images


async def queue_all(db, tenant, clock, **overrides):
    ids = {}
    async with db.transaction() as conn:
        for name in TEMPLATES:
            ids[name] = await queue_mail(
                conn, template=name, tenant_id=tenant, to_email="anna@example.com",
                to_name=overrides.get("to_name", "Anna <b>Ärger</b> & Co"),
                link="" if name == "after_password_change" else LINK,
                sender_name="Bernd Berater", now=clock())
    return ids


async def test_every_template_is_sent_as_html_with_text_alternative(smtp_server, db, tenant, clock, make_worker):
    await queue_all(db, tenant, clock)
    worker = await make_worker()
    assert await worker.deliver_due() == len(TEMPLATES)
    messages = await smtp_server.wait(len(TEMPLATES))
    assert len(messages) == len(TEMPLATES)
    subjects = {m["Subject"] for m in messages}
    assert subjects == {DEFAULT_TEMPLATES[name].subject for name in TEMPLATES}
    for message in messages:
        text, html, images = parts(message)
        name = next(n for n in TEMPLATES if DEFAULT_TEMPLATES[n].subject == message["Subject"])
        # images: header and hero, inline, referenced by their Content-ID from the HTML
        assert [i.get_content_type() for i in images] == ["image/png", "image/png"]
        for image in images:
            cid = image["Content-ID"].strip("<>")
            assert f'src="cid:{cid}"' in html
            assert image.get_content().startswith(b"\x89PNG")
        # every variable substituted, in both parts and in the headers
        for part in (text, html, message["Subject"], message["From"], message["To"]):
            assert "__" not in part, (name, part)
        # recipient name: raw in text, escaped in HTML
        assert "Anna <b>Ärger</b> & Co" in text
        assert "Anna &lt;b&gt;Ärger&lt;/b&gt; &amp; Co" in html
        assert "<b>Ärger" not in html
        # dealer data in the signature (escaped in HTML)
        assert "Müller & Söhne <Autohaus>" in text and "Hauptstraße 1" in text and "10115 Berlin" in text
        assert "info@mueller.example" in text
        assert "Müller &amp; Söhne &lt;Autohaus&gt;" in html
        # inline styles, no stylesheet
        assert "<style" not in html and 'style="' in html
        if name == "after_password_change":
            assert "anna@example.com" in text and LINK not in text
        else:
            assert LINK in text
            assert 'href="https://video.example.com/t/abc?x=1&amp;y=&lt;2&gt;"' in html
        if name == "call_invitation":
            assert "Bernd Berater" in text
        assert message["To"].addresses[0].addr_spec == "anna@example.com"
        assert message["From"].addresses[0].display_name == "Bernd Berater"
        assert message["Message-ID"]
    rows = await outbox.list_items(db, kind="email")
    assert {r.state for r in rows} == {"sent"} and all(r.attempts == 1 for r in rows)


async def test_appname_from_system_settings_and_default(smtp_server, db, tenant, clock, make_worker, settings):
    settings.server.appname = "Configured Name"
    async with db.transaction() as conn:
        await queue_mail(conn, template="password_change", tenant_id=tenant, to_email="a@example.com",
                         to_name="A", link=LINK, now=clock(), settings=settings)
        await conn.execute("INSERT INTO system_settings (key, value) VALUES ('appname', 'Support Name')")
        await queue_mail(conn, template="password_change", tenant_id=tenant, to_email="b@example.com",
                         to_name="B", link=LINK, now=clock(), settings=settings)
    worker = await make_worker()
    await worker.deliver_due()
    messages = await smtp_server.wait(2)
    by_to = {m["To"].addresses[0].addr_spec: parts(m)[0] for m in messages}
    assert "Configured Name" in by_to["a@example.com"]
    assert "Support Name" in by_to["b@example.com"]


async def test_support_mail_without_tenant_has_no_empty_signature_lines(smtp_server, db, clock, make_worker):
    async with db.transaction() as conn:
        await queue_mail(conn, template="confirmation", tenant_id=None, to_email="support@example.com",
                         to_name="Sam", link=LINK, now=clock())
    await (await make_worker()).deliver_due()
    text, html, _ = parts((await smtp_server.wait(1))[0])
    assert "__" not in text and "__" not in html
    assert "\n\n\n" not in text


async def test_bad_input_is_refused(db, tenant, clock):
    async with db.transaction() as conn:
        with pytest.raises(ValueError, match="unknown mail template"):
            await queue_mail(conn, template="newsletter", tenant_id=tenant, to_email="a@example.com",
                             to_name="A", link=LINK)
        for name in set(TEMPLATES) - {"after_password_change"}:
            with pytest.raises(ValueError, match="needs a link"):
                await queue_mail(conn, template=name, tenant_id=tenant, to_email="a@example.com", to_name="A")
        with pytest.raises(ValueError, match="address"):
            await queue_mail(conn, template="confirmation", tenant_id=tenant, to_email="a@b\r\nBcc: x@y",
                             to_name="A", link=LINK)
        await queue_mail(conn, template="after_password_change", tenant_id=tenant, to_email="a@example.com",
                         to_name="A\r\nBcc: evil@example.com")
    assert (await outbox.depth(db))["email"] == 1


async def test_nothing_is_queued_when_the_transaction_rolls_back(db, tenant, clock):
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await queue_mail(conn, template="confirmation", tenant_id=tenant, to_email="a@example.com",
                             to_name="A", link=LINK, now=clock())
            raise RuntimeError("the change failed")
    assert await outbox.list_items(db) == []


async def test_without_smtp_host_mails_stay_queued_and_listed(settings, db, tenant, clock, make_worker):
    settings.smtp.host = ""
    worker = await make_worker(run_loops=True, now=clock)
    async with db.transaction() as conn:
        item = await queue_mail(conn, template="confirmation", tenant_id=tenant, to_email="a@example.com",
                                to_name="A", link=LINK, now=clock())
    worker.wake()
    assert await worker.deliver_due() == 0
    assert "email" not in worker.senders
    listed = await outbox.list_items(db, kind="email", state="queued")
    assert [(e.id, e.summary, e.attempts, e.recipient) for e in listed] == [
        (item, DEFAULT_TEMPLATES["confirmation"].subject, 0, "a@example.com")]
    assert await outbox_store.count_attempts(db, item) == 0
    assert (await outbox.depth(db)) == {"email": 1, "sms": 0, "webhook": 0}
    assert await outbox.list_items(db, kind="mail", state="sent") == []


async def test_smtp_down_then_up_is_sent_exactly_once(settings, db, tenant, clock, make_worker):
    port = free_port()
    settings.smtp.host, settings.smtp.port, settings.smtp.security = "127.0.0.1", port, "none"
    async with db.transaction() as conn:
        item = await queue_mail(conn, template="call_notification", tenant_id=tenant, to_email="a@example.com",
                                to_name="A", link=LINK, now=clock())
    worker = await make_worker()
    assert await worker.deliver_due() == 1                 # refused: nothing listens yet
    row = await outbox_store.get(db, item)
    assert (row.state, row.attempts) == ("queued", 1)
    assert "Connect" in row.last_error or "refused" in row.last_error.lower()
    assert await worker.deliver_due() == 0                 # backing off: not due yet

    controller, capture = start_smtp(port)
    try:
        clock.advance(seconds=30)                          # first backoff: <= 30 s
        assert await worker.deliver_due() == 1
        await capture.wait(1)
        clock.advance(hours=3)
        assert await worker.deliver_due() == 0
        assert len(capture.messages) == 1
    finally:
        controller.stop()
    row = await outbox_store.get(db, item)
    assert (row.state, row.attempts) == ("sent", 2)
    assert row.sent_at == outbox_store.iso(clock.moment - timedelta(hours=3))
    attempts = await db.fetchall("SELECT ok, status, error FROM outbox_attempts WHERE outbox_id = ? ORDER BY id", (item,))
    assert [a["ok"] for a in attempts] == [0, 1]
    assert attempts[1]["status"] == "250"


async def test_permanent_smtp_refusal_fails_at_once(smtp_server, db, tenant, clock, make_worker):
    class Refuse:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            return "550 5.1.1 no such user"

    controller, _ = start_smtp(free_port(), Refuse())
    try:
        worker = await make_worker()
        worker.senders["email"].smtp.port = controller.port
        async with db.transaction() as conn:
            item = await queue_mail(conn, template="call_invitation", tenant_id=tenant, to_email="x@example.com",
                                    to_name="X", link=LINK, now=clock())
        await worker.deliver_due()
    finally:
        controller.stop()
    row = await outbox_store.get(db, item)
    assert row.state == "failed" and "550" in (await db.fetchval(
        "SELECT status FROM outbox_attempts WHERE outbox_id = ?", (item,)))
    assert [e.id for e in await outbox.list_items(db, state="failed")] == [item]
    assert await outbox.retry(db, item, now=clock())
    assert (await outbox_store.get(db, item)).state == "queued"


def test_default_templates_pass_their_own_validation():
    for name in TEMPLATES:
        assert validate_template(name, DEFAULT_TEMPLATES[name].subject, DEFAULT_TEMPLATES[name].body) == []
    assert validate_template("confirmation", "Hi __APPNAME__", "<p>no link</p>") == [
        "The subject cannot contain variables.", "The body must contain __LINK__."]
    assert "HTML" in validate_template("call_invitation", "<b>x</b>", "__LINK__")[0]
    assert re.search("__RECIPIENT_EMAIL__", validate_template("confirmation", "s", "__LINK__ __RECIPIENT_EMAIL__")[0])


def test_branding_images_and_a_broken_upload():
    from datetime import datetime, timezone

    from vidzzle_media.services.outbox.mail import MailBranding, render_mail

    gif = b"GIF89a" + b"\x00" * 20
    values = {"__LINK__": "https://x/y", "__RECIPIENT_NAME__": "R"}
    common = dict(to_email="r@example.com", to_name="R", sender_name="S", sender_address="s@example.com",
                  appname="A", now=datetime(2025, 1, 1, tzinfo=timezone.utc))
    message = render_mail("call_notification", MailBranding(header_image=gif, hero_image=None), values, **common).message
    _, html, images = parts(message)
    assert [i.get_content_type() for i in images] == ["image/gif"] and html.count("cid:") == 1
    message = render_mail("call_notification", MailBranding(header_image=b"not an image"), values, **common).message
    _, html, images = parts(message)
    assert [i.get_content_type() for i in images] == ["image/png"] and html.count("cid:") == 1
