"""Every branding validation rule: XSS in header links/footer, images by
content and exact size, decompression bombs, templates, SMS texts, APPNAME."""

from __future__ import annotations

import aiohttp
import pytest

from tests.admin.helpers import database
from vidzzle_media.errors import ValidationError
from vidzzle_media.services.branding import brand as branding
from vidzzle_media.services.branding import images

from .media import gif, jpeg, png

XSS_LINKS = [
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="data:text/html,<script>alert(1)</script>">x</a>',
    '<a href="https://ok.example" onclick="alert(1)" style="x">ok</a>',
    '<img src=x onerror=alert(1)>',
    '<script>alert(1)</script>',
    '<svg onload=alert(1)>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<iframe src="https://evil.example"></iframe>',
    '"><script>alert(1)</script>',
    '<a href="&#106;avascript:alert(1)">x</a>',
]


@pytest.mark.parametrize("payload", XSS_LINKS)
def test_header_links_keep_only_safe_links(payload):
    clean = branding.sanitize_links(payload)
    lowered = clean.lower()
    for bad in ("<script", "javascript:", "onerror", "onclick", "onload", "<img", "<svg", "<iframe", "data:", "vbscript",
                "style="):
        assert bad not in lowered, clean


def test_header_links_allow_http_https_mailto():
    clean = branding.sanitize_links('<a href="https://a.example/x">A</a> <b>bold</b> <a href="mailto:x@y.example">M</a>'
                                    ' <a href="http://b.example">B</a> <a href="ftp://c.example">C</a>')
    assert 'href="https://a.example/x"' in clean and 'href="mailto:x@y.example"' in clean
    assert 'href="http://b.example"' in clean
    assert "ftp:" not in clean and "<b>" not in clean and "bold" in clean
    assert 'rel="noopener noreferrer"' in clean


async def test_xss_in_header_and_footer_never_reaches_the_page(world, browser):
    await browser.login("admin.a@example.com")
    page = await browser.post("/admin/branding/backoffice", {
        "header_links": '<a href="https://crm.example">CRM</a><script>alert("h")</script>'
                        '<a href="javascript:alert(2)">bad</a><img src=x onerror=alert(3)>',
        "footer_text": '<script>alert("f")</script> Alpha Cars GmbH'})
    assert page.status == 200
    assert '<a href="https://crm.example" rel="noopener noreferrer">CRM</a>' in page.text
    assert "<script>alert" not in page.text and "javascript:" not in page.text and "onerror" not in page.text
    assert "&lt;script&gt;alert(&#34;f&#34;)&lt;/script&gt; Alpha Cars GmbH" in page.text
    # another tenant keeps the defaults
    other = await browser.get("/admin/")   # same tenant still sees it on every page
    assert "crm.example" in other.text


async def test_branding_is_per_tenant_with_system_fallback(world, browser_factory):
    support, admin_b = browser_factory(), browser_factory()
    await support.login("support@example.com")
    await support.post("/admin/branding/backoffice", {"header_links": '<a href="https://help.example">Help</a>',
                                                      "footer_text": "System footer"})
    await admin_b.login("admin.b@example.com")
    page = await admin_b.get("/admin/")
    assert "https://help.example" in page.text and "System footer" in page.text
    admin_a = browser_factory()
    await admin_a.login("admin.a@example.com")
    await admin_a.post("/admin/branding/backoffice", {"header_links": "", "footer_text": "Alpha footer"})
    assert "Alpha footer" in (await admin_a.get("/admin/")).text
    page_b = await admin_b.get("/admin/")
    assert "Alpha footer" not in page_b.text and "System footer" in page_b.text


def test_png_exact_size_passes_and_wrong_size_fails():
    assert images.check_upload("header", png(600, 102)).mime == "image/png"
    assert images.check_upload("hero", png(600, 300)).format == "png"
    with pytest.raises(images.ImageProblem, match="601×102.*600×102"):
        images.check_upload("header", png(601, 102))
    with pytest.raises(images.ImageProblem, match="600×300"):
        images.check_upload("hero", png(600, 102))


def test_gif_named_jpg_is_judged_by_content():
    # the name never reaches the checker: the content says GIF, it is stored and mailed as image/gif
    assert images.check_upload("header", gif(600, 102)).mime == "image/gif"
    with pytest.raises(images.ImageProblem, match="must be exactly"):
        images.check_upload("header", gif(100, 102))


def test_jpeg_dimensions_from_frame_header():
    assert images.check_upload("hero", jpeg(600, 300)).mime == "image/jpeg"
    with pytest.raises(images.ImageProblem):
        images.check_upload("hero", jpeg(300, 600))


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"hello, not an image", "not a PNG, GIF or JPEG"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "not a PNG"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "truncated"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "no frame header"),
])
def test_malformed_images(data, message):
    with pytest.raises(images.ImageProblem, match=message):
        images.check_upload("header", data)


def test_oversized_image():
    big = png(600, 102) + b"\x00" * (images.MAX_IMAGE_BYTES + 1)
    with pytest.raises(images.ImageProblem, match="too large"):
        images.check_upload("header", big)


def test_decompression_bomb_declaring_huge_dimensions_is_never_inflated():
    # 100000 x 100000 declared, a few bytes of zeros compressed: rejected on the header alone
    bomb = png(100000, 100000, raw=b"\x00" * 1000)
    assert len(bomb) < 2000
    with pytest.raises(images.ImageProblem, match="must be exactly"):
        images.check_upload("header", bomb)


def test_decompression_bomb_with_right_header_but_huge_stream():
    # correct 600x102 header, but the stream inflates to 50 MB: capped and refused
    bomb = png(600, 102, raw=b"\x00" * (50 * 1024 * 1024))
    assert len(bomb) < images.MAX_IMAGE_BYTES
    with pytest.raises(images.ImageProblem, match="decompression bomb"):
        images.check_upload("header", bomb)


def test_png_checksum_and_truncated_stream():
    good = bytearray(png(600, 102))
    good[40] ^= 0xFF   # inside IDAT
    with pytest.raises(images.ImageProblem, match="checksum"):
        images.check_upload("header", bytes(good))
    short = png(600, 102, raw=b"\x00" * 100)
    with pytest.raises(images.ImageProblem, match="truncated"):
        images.check_upload("header", short)


async def _upload(browser, kind: str, data: bytes, filename: str):
    form = aiohttp.FormData()
    form.add_field("csrf_token", browser.token)
    form.add_field("image", data, filename=filename, content_type="application/octet-stream")
    async with browser.session.post(f"{browser.base}/admin/branding/images/{kind}", data=form) as resp:
        return resp.status, await resp.text()


async def test_image_upload_through_the_page(world, browser, client):
    await browser.login("admin.a@example.com")
    await browser.get("/admin/branding")
    status, text = await _upload(browser, "header", png(600, 300), "header.png")
    assert status == 400 and "600×300 pixels; it must be exactly 600×102" in text
    status, text = await _upload(browser, "hero", gif(600, 300), "hero.jpg")
    assert status == 200 and "Hero image saved" in text
    async with browser.session.get(f"{browser.base}/admin/branding/images/hero") as resp:
        assert resp.status == 200 and resp.content_type == "image/gif"
    status, text = await _upload(browser, "header", png(600, 102, raw=b"\x00" * (20 * 1024 * 1024)), "bomb.png")
    assert status == 400 and "decompression bomb" in text
    # tenant B does not see tenant A's image
    other = await _other_admin(browser)
    async with other.session.get(f"{other.base}/admin/branding/images/hero") as resp:
        assert resp.status == 404
    await other.close()


async def _other_admin(browser):
    from tests.admin.helpers import Browser
    other = Browser(browser.base)
    await other.login("admin.b@example.com")
    return other


@pytest.mark.parametrize("name, subject, body, problem", [
    ("confirmation", "Welcome", "<p>Hello __RECIPIENT_NAME__</p>", "must contain __LINK__"),
    ("call_invitation", "Hi __RECIPIENT_NAME__", '<p><a href="__LINK__">x</a></p>', "subject cannot contain variables"),
    ("call_notification", "<b>Call</b>", '<p><a href="__LINK__">x</a></p>', "subject cannot contain HTML"),
    ("password_change", "Reset", '<p>__LINK__ __FOO_BAR__</p>', "Unknown variables in the body: __FOO_BAR__"),
    ("call_invitation", "Invite", '<p>__LINK__ __RECIPIENT_EMAIL__</p>', "__RECIPIENT_EMAIL__"),
    ("confirmation", "", '<p>__LINK__</p>', "subject must not be empty"),
])
async def test_invalid_templates_are_refused_with_the_problem_named(world, browser, name, subject, body, problem):
    await browser.login("admin.a@example.com")
    await browser.get(f"/admin/branding/templates/{name}")
    page = await browser.post(f"/admin/branding/templates/{name}", {"subject": subject, "body": body})
    assert page.status == 400
    assert problem in page.text.replace("&#39;", "'")


async def test_invalid_template_is_not_stored(world, client, browser):
    await browser.login("admin.a@example.com")
    await browser.get("/admin/branding/templates/confirmation")
    await browser.post("/admin/branding/templates/confirmation", {"subject": "X", "body": "<p>no link</p>"})
    loaded = await branding.load(database(client), world.tenant_a)
    assert "tpl.confirmation.body" not in loaded.own


def test_after_password_change_needs_no_link():
    text = branding.parse_template("after_password_change", {"subject": "Changed", "body": "<p>__RECIPIENT_EMAIL__</p>"})
    assert text.subject == "Changed"


def test_template_body_is_sanitized_but_keeps_link_variable():
    text = branding.parse_template("call_invitation", {
        "subject": "Invite", "body": '<p onclick="x()">Hi</p><script>alert(1)</script><a href="__LINK__">Join</a>'
                                     '<a href="javascript:alert(1)">bad</a>'})
    assert 'href="__LINK__"' in text.body and "script" not in text.body and "onclick" not in text.body
    assert "javascript" not in text.body


@pytest.mark.parametrize("section, data, field", [
    ("sms", {"sms_invitation": "Join __LINK__", "sms_notification": ""}, "sms_invitation"),
    ("sms", {"sms_invitation": "x" * 301, "sms_notification": ""}, "sms_invitation"),
    ("email", {"sender_address": "not an address", "signature": ""}, "sender_address"),
    ("email", {"sender_address": "", "signature": "__DEALER_NAME__ __DEALER_PHONE__"}, "signature"),
    ("backoffice", {"header_links": "", "footer_text": "x" * 301}, "footer_text"),
])
def test_section_rules(section, data, field):
    with pytest.raises(ValidationError) as info:
        branding.parse_section(section, data)
    assert field in info.value.fields


async def test_only_support_sets_appname(world, browser_factory):
    admin = browser_factory()
    await admin.login("admin.a@example.com")
    page = await admin.post("/admin/branding/appname", {"appname": "Hacked"})
    assert page.status == 403
    support = browser_factory()
    await support.login("support@example.com")
    page = await support.post("/admin/branding/appname", {"appname": "Autohaus Video"})
    assert page.status == 200
    assert "<title>Dashboard · Autohaus Video</title>" in (await admin.get("/admin/")).text
    page = await support.post("/admin/branding/appname", {"appname": "<b>x</b>"})
    assert page.status == 400


def test_a_gif_frame_larger_than_the_image_is_refused():
    from .media import gif_with_huge_frame
    with pytest.raises(images.ImageProblem, match="larger than"):   # Pillow's bomb guard or the frame check
        images.check_upload("header", gif_with_huge_frame(600, 102))


def test_an_animated_gif_is_checked_frame_by_frame():
    from io import BytesIO

    from PIL import Image
    frames = [Image.new("RGB", (600, 102), (i * 40, 0, 0)) for i in range(3)]
    out = BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:])
    assert images.check_upload("header", out.getvalue()).mime == "image/gif"
    broken = out.getvalue()[:-200]                    # the last frame cut off
    with pytest.raises(images.ImageProblem):
        images.check_upload("header", broken)
