"""SMS counter (R-BRAND-3): GSM-7 vs UCS-2, extension characters double, the appended link."""

import pytest

from vidzzle_media.services.branding.sms_text import count, left_after_link, with_link

LINK = "https://video.example.com/join/" + "x" * 43   # 74 characters


@pytest.mark.parametrize("text, encoding, units, left", [
    ("Hello", "gsm7", 5, 155),
    ("Grüße aus Köln, Öffnungszeiten: Mo–Fr", "ucs2", 37, 33),   # the en dash is not GSM-7
    ("Grüße aus Köln", "gsm7", 14, 146),                           # umlauts and ß are GSM-7 basic
    ("Preis: 10€", "gsm7", 11, 149),                               # € is an extension character: 2
    ("{[~]}|^\\", "gsm7", 16, 144),
    ("Hi 😀", "ucs2", 5, 65),                                       # emoji: two UTF-16 units
    ("", "gsm7", 0, 160),
])
def test_count(text, encoding, units, left):
    c = count(text)
    assert (c.encoding, c.units, c.left_in_one) == (encoding, units, left)


def test_segments():
    assert count("a" * 160).segments == 1
    assert count("a" * 161).segments == 2          # 153 per concatenated part
    assert count("a" * 306).segments == 2
    assert count("a" * 307).segments == 3
    assert count("ä" * 70 + "😀").segments == 2    # ä is GSM but 😀 forces UCS-2: 72 units > 70


def test_left_after_link():
    assert len(LINK) == 74
    assert with_link("  Join: ", LINK) == "Join: " + LINK
    assert left_after_link("Join:", LINK).left_in_one == 160 - 5 - 1 - 74
    assert left_after_link("Preis 10€", LINK).left_in_one == 160 - 10 - 1 - 74
    assert left_after_link("Anruf 😀", LINK).left_in_one == 70 - 8 - 1 - 74   # does not fit: negative


async def test_branding_page_shows_counter(world, browser):
    await browser.login("admin.a@example.com")
    page = await browser.post("/admin/branding/sms", {"sms_invitation": "Ihr Videoanruf: 10€", "sms_notification": ""})
    assert page.status == 200
    link_len = len("http://127.0.0.1/join/") + 43
    assert f"{160 - 20 - 1 - link_len} of 160 characters left in one SMS after the link" in page.text
    page = await browser.post("/admin/branding/sms", {"sms_invitation": "Anruf 😀", "sms_notification": ""})
    assert "Unicode (UCS-2)" in page.text
    assert 'src="/static/js/admin-sms-counter.js"' in page.text
    js = await browser.get("/static/js/admin-sms-counter.js")
    assert js.status == 200 and "data-sms-counter" in js.text
