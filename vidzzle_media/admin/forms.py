"""Reading forms in views: a plain dict of the text fields, never a 500 on
odd input (file fields and repeated keys are reduced to one string)."""

from __future__ import annotations

from aiohttp import web

from ..errors import NotFound
from ..i18n import gettext


async def form_data(request: web.Request) -> dict[str, str]:
    try:
        form = await request.post()
    except ValueError:
        return {}
    data: dict[str, str] = {}
    for key in form.keys():
        value = form.get(key)
        if isinstance(value, str):
            data[key] = value[:10_000]
    return data


def int_param(request: web.Request, name: str) -> int:
    """A numeric id from the URL; anything else is simply not found."""
    raw = request.match_info.get(name, "")
    if not raw.isdigit() or len(raw) > 18:
        raise NotFound(gettext("Not found."))
    return int(raw)


def safe_next(value: str | None, default: str = "/admin/") -> str:
    """Only local back-office paths are allowed as redirect targets."""
    if value and value.startswith("/admin/") and "//" not in value and "\\" not in value:
        return value
    return default
