"""Follow-up call (scenario e): the agent fills "Initiate Video-Call", goes
straight into the room; the invitation mail (real aiosmtpd) carries a
one-time link; a third browser context opens it, accepts the GDPR notice and
is in the call with media both ways."""

from __future__ import annotations

import re

import pytest

from .helpers import agent_console, team, wait_media

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

LINK = re.compile(r"(http://127\.0\.0\.1:\d+/join/[A-Za-z0-9_-]+)")


async def test_e_followup_invitation_mail_link_media_both_ways(chromium, world):
    tenant, _, emails, _ = await team(world, "Echo Cars", presentation=True)
    gdpr = False
    try:
        from vidzzle_media.services.branding import brand as branding
        await branding.save_section(world.db, tenant, "gdpr", {"gdpr_text": "Echo Cars processes your picture "
                                                              "and voice for this call only.", "gdpr_outgoing": "1"}, "en")
        gdpr = True
    except ImportError:
        pass
    actx, agent = await agent_console(chromium, world, emails[0])
    errors = []
    agent.on("pageerror", lambda e: errors.append(str(e)))
    agent.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await agent.goto(world.base + "/admin/followup")
    await agent.wait_for_load_state("networkidle")
    assert not errors, errors
    await agent.fill("input[name=name_0]", "Ina Invitee")
    await agent.fill("input[name=address_0]", "ina@example.com")
    await agent.select_option("select[name=lang_0]", "de")      # Ina reads German (the tenant is English)
    # "+" adds a row; a bad mobile number is refused in the browser; trash removes the row
    await agent.click("#add-row")
    rows = agent.locator(".invite-row")
    assert await rows.count() == 2
    second = rows.nth(1)
    assert await second.locator("select[name^=lang_]").input_value() == "en"   # a new row: the tenant's language
    await second.locator("select[name^=via_]").select_option("sms")
    await second.locator("input[name^=name_]").fill("Sam")
    await second.locator("input[name^=address_]").fill("12ab")
    await agent.click("#start-call")
    assert "mobile number" in (await second.locator(".field-error").text_content())
    assert agent.url.endswith("/admin/followup")
    await second.locator(".trash").click()
    assert await rows.count() == 1
    await agent.click("#start-call")
    await agent.wait_for_url("**/admin/call/*")
    await agent.wait_for_selector("#in-call:not([hidden])")

    mails = await world.mails.wait(1, timeout=15)
    mail = next(m for m in mails if m["To"].addresses[0].addr_spec == "ina@example.com")
    assert mail["Subject"] == "Einladung zu einem Video-Call"
    body = mail.get_body(("plain",)).get_content()
    link = LINK.search(body).group(1)
    assert f"{link}?lang=de" in body

    ictx = await chromium.new_context(locale="en-US")      # the link's language wins over the browser's
    invitee = await ictx.new_page()
    await invitee.goto(f"{link}?lang=de")
    if gdpr:
        await invitee.wait_for_selector("#v-gdpr:not([hidden])")
        # Echo Cars wrote its notice in English only: a German invitee gets the built-in German one
        assert "Dieser Videoanruf" in await invitee.text_content("#gdpr-text")
        assert await invitee.text_content("#gdpr-accept") == "Zustimmen und teilnehmen"
        await invitee.click("#gdpr-accept")
    await invitee.wait_for_selector("#v-call:not([hidden])", timeout=15000)
    await wait_media(invitee, video=("camera", "presentation"))
    await wait_media(agent, video=("camera",))
    # the link was single use
    other = await (await chromium.new_context()).new_page()
    await other.goto(link)                         # no ?lang: the browser's language (English here)
    await other.wait_for_selector("#v-end:not([hidden])")
    assert "no longer valid" in await other.text_content("#end-title")
    await other.context.close()
    await agent.click("#hangup")
    await agent.wait_for_selector("#summary:not([hidden])")
    await invitee.wait_for_selector("#v-end:not([hidden])", timeout=10000)
    await ictx.close()
    await actx.close()
