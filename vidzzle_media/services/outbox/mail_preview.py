"""Preview of a branded mail in the back office (R-BRAND-6/7).

Renders exactly what ``queue_mail`` would send (services/mail.render_mail)
with sample values, then swaps the ``cid:`` references of the inline images
for data: URIs so a browser can show it; the page shows it in a sandboxed
iframe (no scripts, no network).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from ...store import mail_context
from ..branding import brand as branding_service
from ..branding.mail_templates import TemplateText
from .mail import load_branding, render_mail


@dataclass(frozen=True)
class Preview:
    """The rendered sample."""

    subject: str
    html: str
    """Full HTML document with data: images."""
    text: str
    """The plain-text alternative."""


async def preview(db, *, tenant_id: int | None, name: str, draft: TemplateText | None, to_name: str, to_email: str,
                  sender_name: str, base_url: str, default_appname: str, default_sender: str,
                  language: str | None = None) -> Preview:
    mail_branding = await load_branding(db, tenant_id, language)
    if draft is not None:
        mail_branding = replace(mail_branding, templates={**mail_branding.templates, name: draft})
    appname = await branding_service.stored_appname(db) or default_appname
    dealer = await mail_context.dealer(db, tenant_id) or mail_context.Dealer()
    company = dealer.name or appname
    values = {
        "__RECIPIENT_NAME__": to_name, "__RECIPIENT_EMAIL__": to_email, "__APPNAME__": appname,
        "__LINK__": f"{base_url.rstrip('/')}/example-one-time-link", "__SENDER_NAME__": sender_name or company,
        "__DEALER_COMPANY_NAME__": company, "__DEALER_NAME__": company, "__DEALER_STREET__": dealer.street,
        "__DEALER_ZIP__": dealer.zip, "__DEALER_CITY__": dealer.city, "__DEALER_EMAIL__": dealer.email,
    }
    rendered = render_mail(name, mail_branding, values, to_email=to_email, to_name=to_name,
                           sender_name=sender_name or company,
                           sender_address=mail_branding.sender_address or default_sender,
                           appname=appname, now=datetime.now(timezone.utc))
    html = rendered.html
    for part in rendered.message.walk():
        cid = part.get("Content-ID")
        if cid:
            payload = part.get_payload(decode=True)
            data = base64.b64encode(payload if isinstance(payload, bytes) else b"").decode()
            html = html.replace(f"cid:{cid.strip('<>')}", f"data:{part.get_content_type()};base64,{data}")
    return Preview(rendered.subject, html, rendered.text)
