"""How a tenant's mails look: the value the mail renderer takes.

It lives with the branding (which fills it from the tenant's settings) so
that the renderer in services/outbox/mail.py depends on branding, never the
other way round.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources

from .mail_templates import DEFAULT_SIGNATURE, DEFAULT_TEMPLATES, TemplateText


@functools.lru_cache(maxsize=None)
def _asset(name: str) -> bytes:
    """A bundled default image (read once, not on every mail)."""
    return resources.files(__package__).joinpath("mail_assets", name).read_bytes()


@dataclass
class MailBranding:
    """How a tenant's mails look (R-BRAND-5/6); every field falls back to the system default."""

    sender_address: str = ""
    """From address; empty: settings.smtp.sender"""
    header_image: bytes | None = field(default_factory=lambda: _asset("header.png"))
    """600x102 png/gif/jpg shown on top of every mail; None: no header row"""
    hero_image: bytes | None = field(default_factory=lambda: _asset("hero.png"))
    """600x300 png/gif/jpg below the header; None: no hero row"""
    signature: str = DEFAULT_SIGNATURE
    """plain text under every mail, with __DEALER_*__ variables"""
    templates: dict[str, TemplateText] = field(default_factory=dict)
    """per-template subject/body overrides; missing names use DEFAULT_TEMPLATES"""

    def template(self, name: str) -> TemplateText:
        return self.templates.get(name) or DEFAULT_TEMPLATES[name]


