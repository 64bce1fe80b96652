"""Items 3 and 9: the branding page's SMS counter attributes are real attributes,
and saving a text that needs several SMS with its link warns."""

from __future__ import annotations

import re
from html import unescape

from vidzzle_media.services.branding.sms_text import left_after_link


async def test_counter_attributes_are_not_escaped(world, browser):
    await browser.login("admin.a@example.com")
    page = await browser.get("/admin/branding")
    area = re.search(r'<textarea id="f-sms_invitation"[^>]*>', page.text).group(0)
    assert 'data-sms-counter="sms_invitation"' in area, area
    link = unescape(re.search(r'data-link="([^"]+)"', area).group(1))
    assert link.startswith("http://127.0.0.1") and "/join/" in link


async def test_save_warns_when_text_and_link_need_two_sms(world, browser):
    await browser.login("admin.a@example.com")
    short = "Ihr Videoanruf:"
    page = await browser.post("/admin/branding/sms", {"sms_invitation": short, "sms_notification": ""})
    assert ("success", "Branding saved.") in page.flashes
    assert not [f for f in page.flashes if f[0] == "warning"]
    long_text = "Guten Tag, Ihr Autohaus lädt Sie zu einem Videoanruf ein. " * 2   # 118 GSM-7 characters
    page = await browser.post("/admin/branding/sms", {"sms_invitation": long_text, "sms_notification": ""})
    warnings = [t for k, t in page.flashes if k == "warning"]
    link = "http://127.0.0.1/join/" + "x" * 43
    counted = left_after_link(long_text, link)
    assert counted.segments == 2
    assert warnings == [f"Call invitation: with the link it needs 2 SMS ({-counted.left_in_one} characters too many for one)."]


async def test_item9_gdpr_appname_default_matches_the_mails(client, world, browser, settings):
    """__APPNAME__ in the GDPR notice is the configured name, as in mails, until support sets one."""
    from tests.admin.helpers import database
    from vidzzle_media.services.branding import brand
    from vidzzle_media.services.calls import followup
    db = database(client)
    await brand.save_section(db, world.tenant_a, "gdpr", {"gdpr_text": "__APPNAME__ processes your picture.",
                                                          "gdpr_outgoing": "1"}, "en")
    notice = await followup.gdpr_notice(db, world.tenant_a)
    assert notice.text == f"{settings.server.appname} processes your picture." and notice.outgoing
    assert settings.server.appname == "Vidzzle Media"
    await brand.set_appname(db, "Autohaus Video")
    assert (await followup.gdpr_notice(db, world.tenant_a)).text == "Autohaus Video processes your picture."
