"""Transactional mail: render one of the five templates now, deliver later.

``queue_mail`` renders the complete MIME message (multipart/alternative:
plain text + HTML with inline header/hero images in multipart/related) at
the moment of the change that causes it, and writes it into the outbox on
the caller's connection, inside the caller's transaction. The outbox worker
(services/outbox.py) sends it through SMTP after the commit; a later edit of
a template or of the branding does not alter mails already queued.

Branding: ``load_branding`` returns the tenant's ``MailBranding`` (sender,
header/hero images, signature, template texts; R-BRAND-5/6) from
services/branding.py, falling back to the system defaults.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from ...config import Settings
from ...store import mail_context
from ...store import outbox as outbox_store
from ...values import OutboxKind
from ..branding.brand import mail_branding as load_branding
from ..branding.mail_look import MailBranding
from ..branding.mail_templates import LINK_OPTIONAL, TEMPLATES, html_to_text, inline_styles, substitute

log = logging.getLogger(__name__)

_ADDRESS = re.compile(r"^[^@\s<>\"',;:()\[\]\\]+@[A-Za-z0-9.-]+$")


@dataclass
class MailDefaults:
    """Install-wide fallbacks, taken from the settings by ``configure``."""

    appname: str = "Vidzzle Media"
    """__APPNAME__ unless support set system_settings 'appname'"""
    sender: str = "noreply@localhost"
    """From address unless the tenant's branding names one"""


_defaults = MailDefaults()


def configure(settings: Settings) -> None:
    """Take appname and default sender from the settings (called by the composition root, app.py)."""
    global _defaults
    _defaults = MailDefaults(appname=settings.server.appname, sender=settings.smtp.sender)


@dataclass
class RenderedMail:
    """A fully rendered mail, ready to be queued."""

    subject: str
    text: str
    html: str
    sender: str
    message: EmailMessage


def image_type(data: bytes) -> str:
    """MIME subtype of a png/gif/jpeg by its magic bytes (ValueError otherwise)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    raise ValueError("image is neither png, gif nor jpeg")


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _signature_text(signature: str, values: dict[str, str]) -> str:
    """Signature with values filled in; lines left empty by missing dealer data are dropped."""
    lines = [line.strip() for line in substitute(signature, values, escape=False).splitlines()]
    return "\n".join(line for line in lines if line)


def _html_document(subject: str, body_html: str, signature: str, header_cid: str | None,
                   hero_cid: str | None, appname: str) -> str:
    font = "font-family:Arial,Helvetica,sans-serif;"
    rows = []
    if header_cid:
        rows.append(
            f'<tr><td style="padding:0;"><img src="cid:{header_cid}" width="600" height="102" alt="{html.escape(appname)}"'
            ' style="display:block;width:100%;max-width:600px;height:auto;border:0;"></td></tr>')
    if hero_cid:
        rows.append(
            f'<tr><td style="padding:0;"><img src="cid:{hero_cid}" width="600" height="300" alt=""'
            ' style="display:block;width:100%;max-width:600px;height:auto;border:0;"></td></tr>')
    rows.append(f'<tr><td style="padding:24px 32px;{font}font-size:15px;line-height:1.5;color:#1f2933;">'
                f"{inline_styles(body_html)}</td></tr>")
    if signature:
        sig = html.escape(signature).replace("\n", "<br>")
        rows.append(f'<tr><td style="padding:16px 32px 24px 32px;border-top:1px solid #e4e7eb;{font}'
                    f'font-size:12px;line-height:1.5;color:#616e7c;">{sig}</td></tr>')
    return (
        '<!DOCTYPE html><html><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(subject)}</title></head>"
        '<body style="margin:0;padding:0;background-color:#f2f4f7;">'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f2f4f7;">'
        '<tr><td align="center" style="padding:24px 8px;">'
        '<table role="presentation" width="600" cellpadding="0" cellspacing="0" border="0"'
        ' style="width:600px;max-width:100%;background-color:#ffffff;border-collapse:collapse;">'
        + "".join(rows)
        + "</table></td></tr></table></body></html>"
    )


def render_mail(template: str, branding: MailBranding, values: dict[str, str], *, to_email: str, to_name: str,
                sender_name: str, sender_address: str, appname: str, now: datetime) -> RenderedMail:
    """Build the MIME message of one template (pure: no I/O)."""
    text_tpl = branding.template(template)
    subject = _one_line(text_tpl.subject)
    signature = _signature_text(branding.signature, values)
    body_text = substitute(html_to_text(text_tpl.body), values, escape=False)
    text = body_text + ("\n\n-- \n" + signature if signature else "") + "\n"
    domain = sender_address.rpartition("@")[2] or "localhost"
    images = []
    for kind, data in (("header", branding.header_image), ("hero", branding.hero_image)):
        if data:
            try:
                images.append((kind, data, image_type(data)))
            except ValueError:  # a broken upload must not stop the change that sends the mail
                log.warning("ignoring the %s image of the mail branding: not png/gif/jpeg", kind)
    cids = {kind: make_msgid(kind, domain=domain)[1:-1] for kind, _, _ in images}
    body_html = substitute(text_tpl.body, values, escape=True)
    document = _html_document(subject, body_html, signature, cids.get("header"), cids.get("hero"), appname)

    message = EmailMessage(policy=policy.SMTP)
    message["Subject"] = subject
    message["From"] = _address_header(sender_name, sender_address)
    message["To"] = _address_header(to_name, to_email)
    message["Date"] = format_datetime(now.astimezone(timezone.utc))
    message["Message-ID"] = make_msgid("vidzzle", domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    message.add_alternative(document, subtype="html")
    html_part = next(part for part in message.iter_parts() if part.get_content_type() == "text/html")
    for kind, data, subtype in images:
        html_part.add_related(data, "image", subtype, cid=f"<{cids[kind]}>",
                              disposition="inline", filename=f"{kind}.{subtype}")
    return RenderedMail(subject=subject, text=text, html=document, sender=sender_address, message=message)


def _address_header(name: str, address: str) -> str:
    local, _, domain = address.rpartition("@")
    return str(Address(display_name=_one_line(name), username=local, domain=domain))


async def queue_mail(conn, *, template: str, tenant_id: int | None, to_email: str, to_name: str, link: str = "",
                     sender_name: str = "", now: datetime | None = None, settings: Settings | None = None,
                     language: str | None = None) -> int:
    """Render ``template`` for one recipient and enqueue it in the caller's transaction.

    ``language`` is the recipient's own (a user's setting, an invitee's
    choice); without one (or without a catalog for it) the tenant's.

    ``conn`` is the writer connection from ``db.transaction()``; nothing is sent
    before that transaction commits (call ``OutboxWorker.wake()`` afterwards to
    send at once). Raises ValueError for an unknown template, a missing
    mandatory link or an unusable address.
    """
    if template not in TEMPLATES:
        raise ValueError(f"unknown mail template {template!r}")
    if not link and template not in LINK_OPTIONAL:
        raise ValueError(f"the {template} mail needs a link")
    to_email = to_email.strip()
    if not _ADDRESS.match(to_email):
        raise ValueError("invalid recipient email address")
    now = now or datetime.now(timezone.utc)
    defaults = MailDefaults(settings.server.appname, settings.smtp.sender) if settings else _defaults
    appname = await mail_context.system_setting(conn, "appname") or defaults.appname
    dealer = await mail_context.dealer(conn, tenant_id) or mail_context.Dealer()
    branding = await load_branding(conn, tenant_id, language)
    company = dealer.name or appname
    values = {
        "__RECIPIENT_NAME__": _one_line(to_name) or to_email,
        "__RECIPIENT_EMAIL__": to_email,
        "__APPNAME__": appname,
        "__LINK__": link,
        "__SENDER_NAME__": _one_line(sender_name) or company,
        "__DEALER_COMPANY_NAME__": company,
        "__DEALER_NAME__": company,
        "__DEALER_STREET__": dealer.street,
        "__DEALER_ZIP__": dealer.zip,
        "__DEALER_CITY__": dealer.city,
        "__DEALER_EMAIL__": dealer.email,
    }
    sender_address = branding.sender_address or defaults.sender
    rendered = render_mail(template, branding, values, to_email=to_email, to_name=to_name,
                           sender_name=sender_name or company, sender_address=sender_address,
                           appname=appname, now=now)
    payload = {
        "template": template,
        "from": sender_address,
        "subject": rendered.subject,
        "text": rendered.text,
        "message": rendered.message.as_string(policy=policy.SMTP),
    }
    item_id = await outbox_store.enqueue(conn, kind=OutboxKind.EMAIL, tenant_id=tenant_id, recipient=to_email,
                                         payload=payload, now=now)
    log.debug("queued %s mail as outbox %d", template, item_id)
    return item_id


async def queue_test_mail(db, settings: Settings, *, template: str, tenant_id: int | None, to_email: str,
                          to_name: str, base: str, language: str) -> int:
    """A tenant's saved template, sent to the editor's own address with an example link (branding page)."""
    async with db.transaction() as conn:
        return await queue_mail(conn, template=template, tenant_id=tenant_id, to_email=to_email, to_name=to_name,
                                link=f"{base}/example-one-time-link", sender_name=to_name, settings=settings,
                                language=language)
