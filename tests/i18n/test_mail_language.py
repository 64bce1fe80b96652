"""Mails and SMS in the recipient's language: the built-in texts come in
German or English; a tenant's own text wins, per language; staff get their
own language, invitees the one the agent chose in the follow-up form."""

from __future__ import annotations

import pytest

from tests.admin.helpers import database, make_tenant, make_user
from vidzzle_media.errors import ValidationError
from vidzzle_media.services.accounts import links
from vidzzle_media.services.accounts.users import load_user
from vidzzle_media.services.branding import brand, sms_text
from vidzzle_media.services.branding.mail_templates import TEMPLATES, validate_template
from vidzzle_media.services.calls import followup
from vidzzle_media.services.outbox.mail import queue_mail
from vidzzle_media.store import accounts as account_store
from vidzzle_media.store import outbox as outbox_store

SUBJECTS = {"de": "Einladung zu einem Video-Call", "en": "Invitation to a video call"}


@pytest.mark.parametrize("language", ["de", "en"])
async def test_every_template_and_sms_in_the_tenant_language(client, language):
    db = database(client)
    tenant = await make_tenant(db, f"Autohaus {language}", language=language)
    branding = await brand.mail_branding(db, tenant)
    for name in TEMPLATES:
        text = branding.templates[name]
        assert validate_template(name, text.subject, text.body) == []
        assert ("Hallo" in text.body or "Guten Tag" in text.body) == (language == "de"), (name, text.body)
    async with db.transaction() as conn:
        await queue_mail(conn, template="call_invitation", tenant_id=tenant, to_email="ina@example.com",
                         to_name="Ina", link="https://video.example/join/x", sender_name="Udo")
    (item,) = await outbox_store.list_items(db, kind="email")
    assert item.payload["subject"] == SUBJECTS[language]
    invitation = await brand.invitation_sms_text(db, tenant)
    notification = await brand.notification_sms_text(db, tenant)
    assert invitation.startswith("Sie sind" if language == "de" else "You are invited")
    assert notification.startswith("Eingehender" if language == "de" else "Incoming")
    link = "https://video.example.com/join/" + "x" * 43
    for text in (invitation, notification):      # the 160-character budget holds in both languages
        assert sms_text.left_after_link(text, link).segments == 1


async def test_own_text_wins_per_language(client):
    db = database(client)
    tenant = await make_tenant(db, "Autohaus Eigen", language="de")
    await brand.save_section(db, tenant, "sms", {"sms_invitation": "Ihr Link:", "sms_notification": ""}, "de")
    await brand.save_section(db, tenant, "sms", {"sms_invitation": "Your link:", "sms_notification": ""}, "en")
    await brand.save_section(db, tenant, "gdpr", {"gdpr_text": "Autohaus Eigen verarbeitet Ihr Bild."}, "de")
    await brand.save_template(db, tenant, "call_invitation", {
        "subject": "Your call with Eigen", "body": '<p><a href="__LINK__">Join</a></p>'}, "en")
    assert await brand.invitation_sms_text(db, tenant) == "Ihr Link:"          # the tenant's language
    assert await brand.invitation_sms_text(db, tenant, "en") == "Your link:"
    assert (await brand.notification_sms_text(db, tenant, "en")).startswith("Incoming video call")
    assert (await brand.gdpr_notice(db, tenant)).text == "Autohaus Eigen verarbeitet Ihr Bild."
    english = (await brand.gdpr_notice(db, tenant, "en-GB")).text      # no English text of its own: the built-in one
    assert english.startswith("This video call is provided through") and "__APPNAME__" not in english
    assert (await brand.mail_branding(db, tenant, "en")).templates["call_invitation"].subject == "Your call with Eigen"
    assert (await brand.mail_branding(db, tenant)).templates["call_invitation"].subject == SUBJECTS["de"]
    await brand.reset_template(db, tenant, "call_invitation", "en")
    assert (await brand.mail_branding(db, tenant, "en")).templates["call_invitation"].subject == SUBJECTS["en"]
    # the system's own text (support) applies to every tenant that has none in that language
    await brand.save_section(db, None, "sms", {"sms_invitation": "System link:", "sms_notification": ""}, "en")
    other = await make_tenant(db, "Autohaus Anders", language="de")
    assert await brand.invitation_sms_text(db, other, "en") == "System link:"
    assert (await brand.invitation_sms_text(db, other)).startswith("Sie sind")


async def test_a_sms_text_too_long_in_one_language_is_refused_for_it(client):
    db = database(client)
    tenant = await make_tenant(db, "Autohaus Lang", language="de")
    with pytest.raises(ValidationError) as refused:
        await brand.save_section(db, tenant, "sms", {"sms_invitation": "€" * 250, "sms_notification": ""}, "de")
    assert "sms_invitation" in refused.value.fields
    assert (await brand.invitation_sms_text(db, tenant)).startswith("Sie sind")


async def test_staff_mails_come_in_the_users_own_language(client, settings):
    db = database(client)
    tenant = await make_tenant(db, "Autohaus Sprache", language="de")
    german = await make_user(db, tenant_id=tenant, role="user", email="udo@sprache.example")
    english = await make_user(db, tenant_id=tenant, role="user", email="emma@sprache.example")
    async with db.transaction() as conn:
        await account_store.set_language(conn, english, "en")
    assert await links.forgot_password(db, settings, "udo@sprache.example")
    assert await links.forgot_password(db, settings, "emma@sprache.example")
    subjects = {item.recipient: item.payload["subject"] for item in await outbox_store.list_items(db, kind="email")}
    assert subjects == {"udo@sprache.example": "Neues Passwort setzen", "emma@sprache.example": "Set a new password"}
    assert german != english


async def test_each_invitee_gets_the_language_the_agent_chose(client):
    db = database(client)
    tenant = await make_tenant(db, "Autohaus Gast", language="de")
    agent_id = await make_user(db, tenant_id=tenant, role="user", email="agent@gast.example", name="Anna Agent")
    agent = await load_user(db, agent_id)
    rows = followup.parse_rows({"via_0": "email", "name_0": "Ina", "address_0": "ina@example.com", "lang_0": "en",
                                "via_1": "sms", "name_1": "Jan", "address_1": "+49 171 7654321", "lang_1": "de",
                                "via_2": "sms", "name_2": "Kim", "address_2": "+49 171 1111111", "lang_2": "xx"})
    assert [r.language for r in rows] == ["en", "de", ""]
    call = await followup.start(db, FakeRooms(), agent, tenant, rows, "https://video.example")
    mails = await outbox_store.list_items(db, kind="email")
    assert [m.payload["subject"] for m in mails] == [SUBJECTS["en"]]
    assert "/join/" in mails[0].payload["text"] and "?lang=en" in mails[0].payload["text"]
    texts = sorted(m.payload["text"] for m in await outbox_store.list_items(db, kind="sms"))
    assert all(t.startswith("Sie sind") and "?lang=de" in t for t in texts), texts
    token = mails[0].payload["text"].split("/join/")[1].split("?")[0]
    await brand.save_section(db, tenant, "gdpr", {"gdpr_text": "Deutscher Hinweis", "gdpr_outgoing": "1"}, "de")
    info = await followup.invite_info(db, token)
    assert info["gdpr_text"].startswith("This video call is provided through")
    assert call.invitations == 3


class FakeRooms:
    """The room directory is a true external of this service (the SFU); only its ids matter here."""

    async def create_room(self, documents):
        return "room-1"

    async def close_room(self, room_id, reason):
        return None


async def test_texts_saved_before_languages_become_the_tenants_language(tmp_path):
    from vidzzle_media.store import Database
    db = Database(tmp_path / "old.db")
    await db.open()
    try:
        tenant = await make_tenant(db, "Autohaus Alt", language="de")
        async with db.transaction() as conn:    # as a tenant's text was stored before migration 0007
            await conn.execute("INSERT INTO branding_values(tenant_id, key, value, updated_at)"
                               " VALUES (?, 'sms_invitation', 'Alter Text:', '2026-01-01')", (tenant,))
            await conn.execute("INSERT INTO branding_values(tenant_id, key, value, updated_at)"
                               " VALUES (NULL, 'sms_notification', 'System text:', '2026-01-01')")
            await conn.execute("DELETE FROM schema_migrations WHERE name = '0007_localized_branding.sql'")
        assert await db.migrate() == ["0007_localized_branding.sql"]
        assert await brand.invitation_sms_text(db, tenant) == "Alter Text:"
        assert (await brand.invitation_sms_text(db, tenant, "en")).startswith("You are invited")
        assert await brand.notification_sms_text(db, tenant, "en") == "System text:"   # the system's: every language
    finally:
        await db.close()
