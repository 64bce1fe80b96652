"""Mails and SMS in the tenant's language: the built-in texts come in German
for a German tenant, in English for an English one; a tenant's own text wins."""

from __future__ import annotations

import pytest

from tests.admin.helpers import database, make_tenant
from vidzzle_media.services.branding import brand, sms_text
from vidzzle_media.services.branding.mail_templates import TEMPLATES, validate_template
from vidzzle_media.services.outbox.mail import queue_mail
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


async def test_own_text_wins_over_the_translation(client):
    db = database(client)
    tenant = await make_tenant(db, "Autohaus Eigen", language="de")
    await brand.save_section(db, tenant, "sms", {"sms_invitation": "Ihr Link:", "sms_notification": ""})
    assert await brand.invitation_sms_text(db, tenant) == "Ihr Link:"
