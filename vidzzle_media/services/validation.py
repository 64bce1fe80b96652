"""Small, shared form checks (field name -> message)."""

from __future__ import annotations

import re
import zoneinfo
from functools import lru_cache

from ..i18n import N_, gettext

_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]{2,}$")
_PHONE_CHARS = re.compile(r"^\+?[0-9 ()/.-]+$")


def text(data, name: str, label: str, errors: dict, *, required: bool = True, max_len: int = 200) -> str:
    value = str(data.get(name, "") or "").strip()
    if required and not value:
        errors[name] = gettext("%(field)s is required.", field=gettext(label))
    elif len(value) > max_len:
        errors[name] = gettext("%(field)s is too long (at most %(count)s characters).", field=gettext(label), count=max_len)
    return value


def email(data, name: str, errors: dict, *, required: bool = True) -> str:
    value = text(data, name, N_("Email"), errors, required=required, max_len=254)
    if value and name not in errors and not _EMAIL.match(value):
        errors[name] = gettext("Enter a valid email address, like name@example.com.")
    return value


def mobile(data, name: str, errors: dict) -> str:
    value = text(data, name, N_("Mobile number"), errors, max_len=40)
    if value and name not in errors:
        digits = re.sub(r"\D", "", value)
        if not _PHONE_CHARS.match(value) or not 6 <= len(digits) <= 15:
            errors[name] = gettext("Enter a mobile number with country code, like +49 171 1234567.")
    return value


def checkbox(data, name: str) -> bool:
    return str(data.get(name, "")).lower() in ("1", "on", "true", "yes")


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def timezone(data, name: str, errors: dict) -> str:
    value = text(data, name, N_("Time zone"), errors, max_len=64)
    if value and name not in errors:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            errors[name] = gettext("Unknown time zone; pick one from the list, e.g. Europe/Berlin.")
        else:
            if value not in time_zones():
                errors[name] = gettext("Unknown time zone; pick one from the list, e.g. Europe/Berlin.")
    return value
