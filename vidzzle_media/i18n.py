"""Translations: gettext catalogs managed with Babel, one per language.

The catalogs live in ``vidzzle_media/locale/<lang>/LC_MESSAGES/messages.po``
(edited by hand or with ``pybabel``); the ``.mo`` files are compiled when the
package is built or installed (``hatch_build.py``). A source checkout without
them still works: the ``.po`` file is compiled in memory at start.

The language of the work being done is a context variable, set per request
(back office: the user's language; customer pages: the page's), so
templates and Python code call ``gettext`` without passing it around.
Adding a language means adding a catalog directory; nothing else.
"""

from __future__ import annotations

import io
import re
from contextvars import ContextVar
from datetime import date, datetime, tzinfo
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, format_time, get_day_names
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations
from babel.units import format_unit

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
"""The msgids are English; the English catalog is complete by construction."""


@cache
def languages() -> tuple[str, ...]:
    """Every language with a catalog, e.g. ("de", "en"); the source language always."""
    found = {p.name for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES" / f"{DOMAIN}.po").exists()}
    return tuple(sorted(found | {SOURCE_LANGUAGE}))


def language_choices() -> list[tuple[str, str]]:
    """(code, the language's own name) of every catalog, e.g. ("de", "Deutsch")."""
    return [(code, (Locale.parse(code).get_display_name(code) or code).capitalize()) for code in languages()]


@cache
def translations(language: str) -> Translations:
    """The compiled catalog of ``language`` (.mo, else the .po compiled in memory)."""
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    mo = folder / f"{DOMAIN}.mo"
    po = folder / f"{DOMAIN}.po"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as f:
            return Translations(f, domain=DOMAIN)
    if not po.exists():
        return Translations(domain=DOMAIN)   # empty: msgids (English) show as they are
    with po.open("rb") as f:
        catalog = read_po(f, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


_language: ContextVar[str] = ContextVar("vidzzle_language", default=SOURCE_LANGUAGE)


def pick(*candidates: str | None, default: str = SOURCE_LANGUAGE) -> str:
    """The first candidate (a language tag such as "de-DE" or "de") with a catalog, else ``default``."""
    known = languages()
    for tag in candidates:
        if not tag:
            continue
        base = tag.replace("_", "-").split("-")[0].strip().lower()
        if base in known:
            return base
    return default if default in known else SOURCE_LANGUAGE


@cache
def messages(language: str) -> dict[str, str]:
    """Every translated message of ``language`` (msgid -> text), for the
    browser scripts (served as JSON; they look up the English msgid)."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if language == SOURCE_LANGUAGE or not po.exists():
        return {}
    with po.open("rb") as f:
        catalog = read_po(f, locale=language, domain=DOMAIN)
    return {m.id: m.string for m in catalog if m.id and isinstance(m.id, str) and isinstance(m.string, str) and m.string}


def extract_html(fileobj, keywords, comment_tags, options):
    """Babel extractor for the static pages (web/**.html): the text of
    elements marked ``data-i18n`` and the values named by ``data-i18n-attr``
    are msgids; the page's script translates them (web/js/i18n.js)."""
    source = fileobj.read().decode("utf-8")
    for match in re.finditer(r"<(\w+)([^>]*)>", source):
        attrs = match.group(2)
        line = source.count("\n", 0, match.start()) + 1
        if re.search(r"\sdata-i18n(\s|=|$)", attrs):
            end = source.find(f"</{match.group(1)}>", match.end())
            text = " ".join(source[match.end():end].split())
            if text and "<" not in text:
                yield line, "_", text, []
        for name in re.findall(r'data-i18n-attr="([^"]+)"', attrs):
            for attr in name.split():
                value = re.search(rf'\s{attr}="([^"]*)"', attrs)
                if value:
                    yield line, "_", value.group(1), []


def from_accept_language(header: str) -> list[str]:
    """Languages of an Accept-Language header, best first."""
    ranked = []
    for i, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag:
            ranked.append((-quality, i, tag))
    return [tag for _, _, tag in sorted(ranked)]


def set_language(language: str) -> None:
    _language.set(language)


def current_language() -> str:
    return _language.get()


def current_locale() -> Locale:
    try:
        return Locale.parse(current_language())
    except (ValueError, UnknownLocaleError):
        return Locale.parse(SOURCE_LANGUAGE)


def format_when(at: datetime, zone: tzinfo) -> str:
    """A moment for people: date and time in ``zone`` in the current locale's
    way, with the zone's abbreviation ("6. Dez. 2026, 14:03 CET")."""
    local = at.astimezone(zone)
    locale = current_locale()
    return f"{format_date(local, 'medium', locale=locale)}, {format_time(local, 'short', locale=locale)} {local.strftime('%Z')}"


def format_moment(at: datetime) -> str:
    """``at`` (already in the wanted zone) as the current locale writes a date and time with seconds."""
    return format_datetime(at, "medium", tzinfo=at.tzinfo, locale=current_locale())


def format_pattern(at: datetime, pattern: str) -> str:
    """``at`` (already in the wanted zone) with a CLDR ``pattern`` such as "EEE d", in the current locale."""
    return format_datetime(at, pattern, tzinfo=at.tzinfo, locale=current_locale())


def format_day(day: date) -> str:
    """A calendar day with its weekday as the viewer's locale writes it ("Fr., 25.12.2026")."""
    locale = current_locale()
    return format_date(day, f"EEE, {locale.date_formats['medium'].pattern}", locale=locale)


def format_number(value: float | int) -> str:
    """A count or measure as the current locale writes it ("1.234" in German, "1,234" in English)."""
    return format_decimal(value, locale=current_locale())


def format_duration(seconds: float | None, unit: bool = True) -> str:
    """A call's length as a clock, "4:05" (minutes:seconds; "1:04:05" from an
    hour on), with the locale's short unit ("4:05 min", "4:05 Min.") unless
    ``unit`` is False (table cells under a "Duration" heading); "" for None."""
    if seconds is None:
        return ""
    total = int(round(max(seconds, 0)))
    hours, rest = divmod(total, 3600)
    clock = f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
    if not unit:
        return clock
    return format_unit(clock, "duration-hour" if hours else "duration-minute", "short", locale=current_locale())


def day_names() -> list[str]:
    """The weekdays' names in the current locale, Monday first ("Montag", ...)."""
    names = get_day_names("wide", locale=current_locale())
    return [names[i] for i in range(7)]


def gettext(message: str, **values) -> str:
    """``message`` in the current language, ``%(name)s`` placeholders filled from ``values``."""
    text = translations(current_language()).ugettext(message)
    return text % values if values else text


def ngettext(singular: str, plural: str, n: int, **values) -> str:
    text = translations(current_language()).ungettext(singular, plural, n)
    return text % {"num": n, **values}


_ = gettext


def raw_gettext(message: str) -> str:
    """For Jinja's newstyle gettext, which fills the placeholders itself."""
    return translations(current_language()).ugettext(message)


def raw_ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current_language()).ungettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a string for extraction where it is defined (a constant); it is
    translated where it is shown, with ``gettext``."""
    return message
