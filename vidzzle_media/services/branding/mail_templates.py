"""The five email templates (R-BRAND-6): default texts, variables, checks.

A template is a subject (plain text: no variables, no HTML) and a body: a
small piece of HTML (paragraphs, line breaks, links) with ``__NAME__``
variables. The same body gives both parts of the mail: the HTML part gets
every value HTML-escaped, the plain-text part is the body converted to text
first (``<a href="__LINK__">Open</a>`` -> ``Open: __LINK__``) and then filled
with the raw values, so a value is never interpreted as markup in either.

Each tenant may replace them (branding pages); ``validate_template`` is the
check a save must pass.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from ...i18n import N_, gettext

TEMPLATES = ("confirmation", "password_change", "after_password_change", "call_invitation", "call_notification",
             "callback_request")

#: templates whose body may do without __LINK__
LINK_OPTIONAL = frozenset({"after_password_change"})

#: variables of the body, per template (R-BRAND-6; __RECIPIENT_EMAIL__ only after a password change)
_COMMON = ("__RECIPIENT_NAME__", "__APPNAME__", "__SENDER_NAME__", "__DEALER_COMPANY_NAME__")
BODY_VARIABLES: dict[str, tuple[str, ...]] = {
    "confirmation": _COMMON + ("__LINK__",),
    "password_change": _COMMON + ("__LINK__",),
    "after_password_change": _COMMON + ("__RECIPIENT_EMAIL__",),
    "call_invitation": _COMMON + ("__LINK__",),
    "call_notification": _COMMON + ("__LINK__",),
    "callback_request": _COMMON + ("__LINK__",),
}

#: variables of the signature (R-BRAND-5)
SIGNATURE_VARIABLES = ("__DEALER_NAME__", "__DEALER_STREET__", "__DEALER_ZIP__", "__DEALER_CITY__", "__DEALER_EMAIL__")

VARIABLE = re.compile(r"__[A-Z][A-Z_]*?__")


@dataclass(frozen=True)
class TemplateText:
    """Subject and body of one template."""

    subject: str
    """plain text, no variables"""
    body: str
    """HTML fragment with __VARIABLES__"""


DEFAULT_SIGNATURE = "__DEALER_NAME__\n__DEALER_STREET__\n__DEALER_ZIP__ __DEALER_CITY__\n__DEALER_EMAIL__"

#: English msgids: the texts a recipient gets are translated into their language (Branding.template)
DEFAULT_TEMPLATES: dict[str, TemplateText] = {
    "confirmation": TemplateText(
        subject=N_("Please confirm your email address"),
        body=N_(
            "<p>Hello __RECIPIENT_NAME__,</p>"
            "<p>__DEALER_COMPANY_NAME__ has created an account for you in __APPNAME__. "
            "Please confirm your email address and choose your personal password:</p>"
            '<p><a href="__LINK__">Confirm email address and set password</a></p>'
            "<p>The link can be used once and is valid for a limited time. "
            "Without this confirmation your account stays locked.</p>"
            "<p>Kind regards<br>__SENDER_NAME__</p>"
        ),
    ),
    "password_change": TemplateText(
        subject=N_("Set a new password"),
        body=N_(
            "<p>Hello __RECIPIENT_NAME__,</p>"
            "<p>a new password was requested for your __APPNAME__ account. "
            "Use the following link to choose your new password:</p>"
            '<p><a href="__LINK__">Set a new password</a></p>'
            "<p>The link can be used once and is valid for a limited time. "
            "If you did not ask for a new password, you can ignore this email; "
            "your current password stays valid.</p>"
            "<p>Kind regards<br>__SENDER_NAME__</p>"
        ),
    ),
    "after_password_change": TemplateText(
        subject=N_("Your password has been changed"),
        body=N_(
            "<p>Hello __RECIPIENT_NAME__,</p>"
            "<p>the password of your __APPNAME__ account __RECIPIENT_EMAIL__ has just been changed.</p>"
            "<p>If you did not change it yourself, please contact __DEALER_COMPANY_NAME__ immediately.</p>"
            "<p>Kind regards<br>__SENDER_NAME__</p>"
        ),
    ),
    "call_invitation": TemplateText(
        subject=N_("Invitation to a video call"),
        body=N_(
            "<p>Hello __RECIPIENT_NAME__,</p>"
            "<p>__SENDER_NAME__ of __DEALER_COMPANY_NAME__ invites you to a video call. "
            "Join the call with this link:</p>"
            '<p><a href="__LINK__">Join the video call</a></p>'
            "<p>You need no account and no installation: a current browser with camera "
            "and microphone is enough.</p>"
            "<p>Kind regards<br>__SENDER_NAME__</p>"
        ),
    ),
    "call_notification": TemplateText(
        subject=N_("Incoming video call"),
        body=N_(
            "<p>Hello __RECIPIENT_NAME__,</p>"
            "<p>a customer of __DEALER_COMPANY_NAME__ is waiting for you in a video call on __APPNAME__.</p>"
            '<p><a href="__LINK__">Accept the video call</a></p>'
            "<p>If a colleague accepts the call first, the link tells you so.</p>"
            "<p>Kind regards<br>__SENDER_NAME__</p>"
        ),
    ),
    "callback_request": TemplateText(
        subject=N_("A customer asks to be called back"),
        body=N_(
            "<p>Hello __RECIPIENT_NAME__,</p>"
            "<p>a customer of __DEALER_COMPANY_NAME__ could not be served by video call on __APPNAME__ "
            "and asks to be called back.</p>"
            '<p><a href="__LINK__">Open the callback requests</a></p>'
            "<p>Kind regards<br>__SENDER_NAME__</p>"
        ),
    ),
}


def template_problems(name: str, subject: str, body: str) -> dict[str, list[str]]:
    """Problems that make a template unsavable, per field ("subject", "body"),
    in the current language (empty: fine)."""
    if name not in TEMPLATES:
        raise ValueError(f"unknown template {name!r}")
    subject_problems, body_problems = [], []
    if not subject.strip():
        subject_problems.append(gettext("The subject must not be empty."))
    if "\n" in subject or "\r" in subject:
        subject_problems.append(gettext("The subject must be a single line."))
    if VARIABLE.search(subject):
        subject_problems.append(gettext("The subject cannot contain variables."))
    if re.search(r"<[a-zA-Z/!]", subject):
        subject_problems.append(gettext("The subject cannot contain HTML."))
    if not body.strip():
        body_problems.append(gettext("The body must not be empty."))
    if name not in LINK_OPTIONAL and "__LINK__" not in body:
        body_problems.append(gettext("The body must contain %(variable)s.", variable="__LINK__"))
    allowed = set(BODY_VARIABLES[name])
    unknown = sorted({v for v in VARIABLE.findall(body) if v not in allowed})
    if unknown:
        body_problems.append(gettext("Unknown variables in the body: %(names)s.", names=", ".join(unknown)))
    return {field: found for field, found in (("subject", subject_problems), ("body", body_problems)) if found}


def validate_template(name: str, subject: str, body: str) -> list[str]:
    """Every problem of a template as one list (empty: fine)."""
    return [p for found in template_problems(name, subject, body).values() for p in found]


def validate_signature(signature: str) -> list[str]:
    unknown = sorted({v for v in VARIABLE.findall(signature) if v not in SIGNATURE_VARIABLES})
    return [gettext("Unknown variables in the signature: %(names)s.", names=", ".join(unknown))] if unknown else []


def substitute(text: str, values: dict[str, str], *, escape: bool) -> str:
    """Replace every known __VARIABLE__ in one pass (a value is never re-scanned)."""

    def one(match: re.Match) -> str:
        name = match.group(0)
        if name not in values:
            return name
        value = values[name]
        return html.escape(value, quote=True) if escape else value

    return VARIABLE.sub(one, text)


_LINK = re.compile(r"<a\b[^>]*?\bhref\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+)[^>]*>(.*?)</a\s*>", re.I | re.S)
_BREAK = re.compile(r"<br\s*/?>", re.I)
_BLOCK_END = re.compile(r"</(p|div|h[1-6]|ul|ol|table|tr|blockquote)\s*>", re.I)
_ITEM = re.compile(r"<li\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]+>")


def html_to_text(fragment: str) -> str:
    """Plain-text rendering of a body fragment: links as "label: url", paragraphs as blank lines."""

    def link(match: re.Match) -> str:
        href = match.group(1).strip("\"'")
        label = _TAG.sub("", match.group(2)).strip()
        if not label or html.unescape(label) == html.unescape(href):
            return href
        return f"{label}: {href}"

    text = re.sub(r"\s*\n\s*", " ", fragment)
    text = _LINK.sub(link, text)
    text = _BREAK.sub("\n", text)
    text = _BLOCK_END.sub("\n\n", text)
    text = _ITEM.sub("\n- ", text)
    text = html.unescape(_TAG.sub("", text))
    lines = [line.strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def inline_styles(fragment: str) -> str:
    """Give bare paragraphs and links the inline styles mail clients need."""
    fragment = re.sub(r"<p>", '<p style="margin:0 0 16px 0;">', fragment, flags=re.I)
    return re.sub(
        r"<a\b(?![^>]*\bstyle=)",
        '<a style="display:inline-block;padding:10px 18px;background-color:#1f6fb2;color:#ffffff;'
        'font-weight:bold;text-decoration:none;border-radius:4px;"',
        fragment,
        flags=re.I,
    )
