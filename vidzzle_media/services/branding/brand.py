"""Branding per tenant with system defaults (R-BRAND-1..3, 5, 6).

Three layers, first non-empty wins: the tenant's value, the system default
(support edits it: tenant_id NULL), the built-in default below. Header
links are stored already sanitized by nh3 (only ``<a href>`` with http,
https or mailto survives); the footer and SMS texts are plain text (escaped
where shown). Readers used by other areas, all taking a Database or a
transaction's connection:

- ``backoffice_slots(db, tenant_id)``: header links + footer + appname for the layout (admin/render.py)
- ``gdpr_notice(db, tenant_id)``: text + ``outgoing`` flag (services/followup.py, clients/routes.py)
- ``invitation_sms_text`` / ``notification_sms_text``: the texts the link is appended to
- ``mail_branding(conn, tenant_id)``: services/mail.py's ``load_branding`` delegates here
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

import nh3

from ...errors import ValidationError
from ...i18n import N_, current_language, gettext, pick, translations
from ...store import branding as store
from ...store import tenants as tenant_store
from ...store._rows import Executor
from ...store.database import utcnow
from .. import validation
from . import images
from .mail_look import MailBranding
from .mail_templates import (
    DEFAULT_SIGNATURE,
    DEFAULT_TEMPLATES,
    TEMPLATES,
    VARIABLE,
    TemplateText,
    template_problems,
    validate_signature,
)
from .sms_text import count as sms_count

log = logging.getLogger(__name__)

DEFAULT_GDPR_TEXT = N_(
    "This video call is provided through __APPNAME__. To run the call, some of your data has to be shared "
    "with the service: your IP address and data about your browser. While you are in the call, everything you "
    "enter — by keyboard, camera or microphone — is transmitted through our servers. Cookies are used to "
    "prepare and run the call. By clicking OK you agree to this processing. If you do not agree, please close "
    "this window."
)
BUILTIN: dict[str, str] = {
    "header_links": "",
    "footer_text": "",
    "gdpr_text": DEFAULT_GDPR_TEXT,
    "gdpr_outgoing": "0",
    "gdpr_incoming": "1",   # the embed snippet asks for the notice before incoming calls (data-cwbbb-gdpr="1")
    "sms_invitation": N_("You are invited to a video call. Join here:"),
    "sms_notification": N_("Incoming video call. Open it here:"),
    "sender_address": "",
    "signature": DEFAULT_SIGNATURE,
    "allowed_sites": "",   # empty: any website may show the call button
}
LIMITS = {"header_links": 2000, "footer_text": 300, "gdpr_text": 5000, "sms_invitation": 300,
          "sms_notification": 300, "signature": 2000, "subject": 200, "body": 20000, "allowed_sites": 2000}
SECTIONS = {
    "backoffice": ("header_links", "footer_text"),
    "gdpr": ("gdpr_text", "gdpr_outgoing", "gdpr_incoming"),
    "sms": ("sms_invitation", "sms_notification"),
    "email": ("sender_address", "signature"),
    "sites": ("allowed_sites",),
}
LOCALIZED = ("gdpr_text", "sms_invitation", "sms_notification")
"""Texts a recipient reads: stored per language as ``key@de``; a template's
subject and body (``tpl.<name>.subject``) are localized the same way. A
stored value without ``@`` (the system level before languages existed)
applies to every language."""
MAIL_BODY_TAGS = {"p", "br", "a", "strong", "b", "em", "i", "u", "ul", "ol", "li", "h1", "h2", "h3", "blockquote", "span", "div"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def sanitize_links(html: str) -> str:
    """Only links survive: ``<a href>`` with http/https/mailto; text is kept, everything else removed."""
    return nh3.clean(html or "", tags={"a"}, attributes={"a": {"href", "title"}},
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer",
                     strip_comments=True).strip()


def sanitize_mail_body(html: str) -> str:
    """Simple formatting and links only (the body is shown in the back-office preview too)."""
    return nh3.clean(html or "", tags=MAIL_BODY_TAGS, attributes={"a": {"href", "title"}},
                     url_schemes={"http", "https", "mailto"}, link_rel=None, strip_comments=True).strip()


def plain(value: str) -> str:
    return _CONTROL.sub("", (value or "").replace("\r\n", "\n")).strip()


def localized(key: str) -> bool:
    return key in LOCALIZED or key.startswith("tpl.")


def language_key(key: str, language: str) -> str:
    """Where ``key``'s text for ``language`` is stored (``sms_invitation@de``)."""
    return f"{key}@{language}" if localized(key) else key


@dataclass(frozen=True)
class Branding:
    """The effective values of one tenant (or of the system for None)."""

    values: dict[str, str]
    """Effective value of every BUILTIN key that is not localized."""
    own: dict[str, str]
    """Values stored at exactly this level (a key absent here is inherited)."""
    layers: tuple[dict[str, str], ...] = ()
    """The stored values, most specific first (tenant, system)."""

    def get(self, key: str) -> str:
        return self.values.get(key, "")

    def stored(self, key: str, language: str) -> str:
        """A localized text some level set for ``language`` ("" = none: the built-in one applies)."""
        for layer in self.layers:
            value = layer.get(language_key(key, language)) or layer.get(key)
            if value:
                return value
        return ""

    def text(self, key: str, language: str) -> str:
        """A localized text in ``language``: stored, else the built-in one translated."""
        return self.stored(key, language) or (translations(language).ugettext(BUILTIN[key]) if BUILTIN.get(key) else "")

    def own_text(self, key: str, language: str) -> str:
        """What this level itself stored for ``language`` (the form's value)."""
        return self.own.get(language_key(key, language), "")

    def template(self, name: str, language: str | None = None) -> TemplateText:
        """The tenant's (or system's) text, else the built-in one, in ``language`` (default: the current one)."""
        language = language or current_language()
        default = DEFAULT_TEMPLATES[name]
        translate = translations(language).ugettext
        return TemplateText(self.stored(f"tpl.{name}.subject", language) or translate(default.subject),
                            self.stored(f"tpl.{name}.body", language) or translate(default.body))


async def load(ex: Executor, tenant_id: int | None) -> Branding:
    """Effective branding of a tenant (None: the system defaults themselves)."""
    system, tenant = await store.layered_values(ex, tenant_id)
    merged = {k: v for k, v in {**BUILTIN, **system, **tenant}.items() if v and not localized(k) and "@" not in k}
    merged.update({k: BUILTIN[k] for k in LOCALIZED})   # read them with text()
    layers = (tenant, system) if tenant_id is not None else (system,)
    return Branding(values=merged, own=tenant if tenant_id is not None else system, layers=layers)


_default_appname = "Vidzzle Media"


def set_default_appname(name: str) -> None:
    """The configured ``server.appname`` (set once at start): the one default
    of ``__APPNAME__`` for the back office, mails and the GDPR notice."""
    global _default_appname
    _default_appname = name


def default_appname() -> str:
    return _default_appname


async def stored_appname(ex: Executor) -> str:
    """What support set in the back office ("" = the default)."""
    return await store.get_setting(ex, "appname") or ""


async def appname(ex: Executor) -> str:
    """``__APPNAME__``: support's choice, else the configured default."""
    return await stored_appname(ex) or _default_appname


async def backoffice_slots(db, tenant_id: int | None) -> dict:
    """For admin/render.py: the links are sanitized when saved and again here (defence in depth)."""
    branding = await load(db, tenant_id)
    return {"header_links_html": sanitize_links(branding.get("header_links")),
            "footer_text": branding.get("footer_text"),
            "appname": await store.get_setting(db, "appname") or ""}


@dataclass(frozen=True)
class GdprNotice:
    """R-BRAND-2 as the call pages need it."""

    text: str
    outgoing: bool
    """Show before every outgoing (follow-up) call."""


async def gdpr_notice(ex: Executor, tenant_id: int | None, language: str | None = None) -> GdprNotice:
    """The notice in ``language`` (a page's language; default: the tenant's)."""
    branding = await load(ex, tenant_id)
    language = await recipient_language(ex, tenant_id, language)
    name = await appname(ex)
    return GdprNotice(branding.text("gdpr_text", language).replace("__APPNAME__", name),
                      branding.get("gdpr_outgoing") == "1")


async def invitation_sms_text(ex: Executor, tenant_id: int | None, language: str | None = None) -> str:
    """The call-invitation SMS text in the invitee's language; the join link is appended (sms_text.with_link)."""
    return (await load(ex, tenant_id)).text("sms_invitation", await recipient_language(ex, tenant_id, language))


async def notification_sms_text(ex: Executor, tenant_id: int | None, language: str | None = None) -> str:
    """The incoming-call notification SMS text in the agent's language; the call link is appended."""
    return (await load(ex, tenant_id)).text("sms_notification", await recipient_language(ex, tenant_id, language))


async def recipient_language(ex: Executor, tenant_id: int | None, preferred: str | None = None) -> str:
    """The language a recipient reads: ``preferred`` (their own choice) when
    there is a catalog for it, else the tenant's, else the current one."""
    tenant = await tenant_store.get_tenant(ex, tenant_id) if tenant_id is not None else None
    return pick(preferred, default=tenant.language if tenant else current_language())


def site_origins(text: str) -> list[str]:
    """The origins (``https://www.autohaus.example``) of a list of sites, one per
    line; a full URL is cut down to its origin. ValueError names a bad line."""
    origins = []
    for line in text.replace(",", "\n").splitlines():
        line = line.strip()
        if not line:
            continue
        parts = urlsplit(line if "://" in line else f"https://{line}")
        try:
            port = parts.port
        except ValueError:
            port = -1
        host = parts.hostname or ""
        if parts.scheme not in ("http", "https") or not host or port == -1 \
                or not re.fullmatch(r"(\*\.)?[a-z0-9.-]+|\[[0-9a-f:]+\]", host):
            raise ValueError(gettext("Not a website address: %(line)s", line=line[:80]))
        origin = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
        if origin not in origins:
            origins.append(origin)
    return origins


async def allowed_sites(ex: Executor, tenant_id: int) -> list[str]:
    """The sites whose pages may show the tenant's call page in a frame (empty: any)."""
    return (await load(ex, tenant_id)).get("allowed_sites").split()


async def mail_branding(ex: Executor, tenant_id: int | None, language: str | None = None) -> MailBranding:
    """The MailBranding of a tenant: sender, images, signature, templates in ``language`` (default: the tenant's)."""
    branding = await load(ex, tenant_id)
    language = await recipient_language(ex, tenant_id, language)
    result = MailBranding(sender_address=branding.get("sender_address"), signature=branding.get("signature"),
                          templates={name: branding.template(name, language) for name in TEMPLATES})
    for kind in ("header", "hero"):
        stored = await store.image(ex, tenant_id, kind)
        if stored is not None:
            setattr(result, f"{kind}_image", stored.data)
    return result


# -- editing ------------------------------------------------------------------

def _check_sms(key: str, value: str, errors: dict) -> None:
    if VARIABLE.search(value):
        errors[key] = gettext("SMS texts cannot contain variables; the link is appended automatically.")
    elif sms_count(value).segments > 3:
        errors[key] = gettext("The text is too long for an SMS.")


def parse_section(section: str, data: Mapping) -> dict[str, str]:
    """Validated values of one form section (an empty text means: use the default)."""
    if section not in SECTIONS:
        raise ValidationError(gettext("Unknown section."))
    out, errors = {}, {}
    for key in SECTIONS[section]:
        if key in ("gdpr_outgoing", "gdpr_incoming"):
            out[key] = "1" if validation.checkbox(data, key) else "0"
            continue
        raw = str(data.get(key, "") or "")
        value = sanitize_links(raw) if key == "header_links" else plain(raw)
        if len(value) > LIMITS.get(key, 2000):
            errors[key] = gettext("Too long (at most %(count)s characters).", count=LIMITS[key])
        elif key == "footer_text" and "\n" in value:
            value = " ".join(value.split())
        elif key.startswith("sms_") and value:
            _check_sms(key, value, errors)
        elif key == "sender_address" and value:
            validation.email({key: value}, key, errors)
        elif key == "signature":
            problems = validate_signature(value)
            if problems:
                errors[key] = problems[0]
        elif key == "allowed_sites":
            try:
                value = "\n".join(site_origins(value))
            except ValueError as exc:
                errors[key] = str(exc)
        out[key] = value
    if errors:
        raise ValidationError(fields=errors)
    return out


async def save_section(db, tenant_id: int | None, section: str, data: Mapping, language: str) -> dict[str, str]:
    """Save one section; its localized texts are the ones for ``language``."""
    values = parse_section(section, data)
    async with db.transaction() as conn:
        await store.save_values(conn, tenant_id, {language_key(k, language): v for k, v in values.items()}, utcnow())
    log.info("branding %s saved for %s", section, tenant_id or "system")
    return values


async def save_image(db, tenant_id: int | None, kind: str, data: bytes) -> images.ImageInfo:
    try:
        info = images.check_upload(kind, data)
    except images.ImageProblem as exc:
        raise ValidationError(fields={f"{kind}_image": str(exc)}) from None
    async with db.transaction() as conn:
        await store.save_image(conn, tenant_id, kind, info.mime, data, utcnow())
    return info


async def delete_image(db, tenant_id: int | None, kind: str) -> None:
    async with db.transaction() as conn:
        await store.delete_image(conn, tenant_id, kind)


async def image(db, tenant_id: int | None, kind: str):
    """The image a tenant's mails use (own, else system); None: the bundled default."""
    return await store.image(db, tenant_id, kind)


async def own_images(db, tenant_id: int | None) -> set[str]:
    return await store.image_kinds(db, tenant_id)


def parse_template(name: str, data: Mapping) -> TemplateText:
    if name not in TEMPLATES:
        raise ValidationError(gettext("Unknown template."))
    subject = str(data.get("subject", "") or "").replace("\r", "")
    body = sanitize_mail_body(str(data.get("body", "") or ""))
    problems = template_problems(name, subject, body)
    errors = {field: found[0] for field, found in problems.items()}
    if len(subject) > LIMITS["subject"]:
        errors.setdefault("subject", gettext("The subject is too long (at most %(count)s characters).",
                                             count=LIMITS["subject"]))
    if len(body) > LIMITS["body"]:
        errors.setdefault("body", gettext("The body is too long."))
    if errors:
        everything = [p for found in problems.values() for p in found]
        raise ValidationError(" ".join(everything) or gettext("Please correct the template."), fields=errors)
    return TemplateText(subject.strip(), body)


async def save_template(db, tenant_id: int | None, name: str, data: Mapping, language: str) -> TemplateText:
    """Save the template's text for ``language``; the other languages keep theirs."""
    text = parse_template(name, data)
    async with db.transaction() as conn:
        await store.save_values(conn, tenant_id, {language_key(f"tpl.{name}.subject", language): text.subject,
                                                  language_key(f"tpl.{name}.body", language): text.body}, utcnow())
    return text


async def reset_template(db, tenant_id: int | None, name: str, language: str) -> None:
    """Back to the inherited text in ``language``."""
    if name not in TEMPLATES:
        raise ValidationError(gettext("Unknown template."))
    keys = [f"tpl.{name}.subject", f"tpl.{name}.body"]
    async with db.transaction() as conn:
        await store.save_values(conn, tenant_id, {language_key(k, language): "" for k in keys}, utcnow())


async def set_appname(db, value: str) -> str:
    """Support only (the view checks the role): the global __APPNAME__; empty = the configured default."""
    value = " ".join(plain(value).split())
    if len(value) > 80 or VARIABLE.search(value) or re.search(r"[<>]", value):
        raise ValidationError(fields={"appname": gettext("Up to 80 characters of plain text.")})
    async with db.transaction() as conn:
        await store.set_setting(conn, "appname", value)
    return value
