"""The catalogs are complete and the templates and scripts carry no untranslated text.

Messages are extracted from the sources the way ``scripts/update-catalogs``
does (Babel); every one needs a German translation with the same
placeholders. Templates are scanned for visible text outside ``_()``, and
for sentences in string literals of their expressions; the browser scripts
for sentences in string literals outside ``_()``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import vidzzle_media
from vidzzle_media import i18n

ROOT = Path(vidzzle_media.__file__).resolve().parents[1]
PACKAGE = ROOT / "vidzzle_media"
TEMPLATES = PACKAGE / "admin" / "templates"
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "MenuItem": (1,)}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
ALLOWED_TEXT = {
    "__APPNAME__", "GSM-7", "Unicode (UCS-2)", "data-cwbbb-name", 'data-cwbbb-gdpr="1"', "ms", "s)", "URL",
    'Authorization: Bearer abc123', "vidzzle-media create-support",
    '{"callid": "…", "start": "ISO-8601", "end": "ISO-8601", "callflow": id, "userid": id, "username": "email", "reason": "…"}',
}
"""Brand names and technical tokens that read the same in every language."""


def source_messages() -> set[str]:
    found = set()
    for method_map, options, folder in (
            ([("**.py", "python")], {}, PACKAGE),
            ([("**.html", "jinja2")], {"**.html": {"extensions": "jinja2.ext.i18n"}}, TEMPLATES),
            ([("**.js", "javascript"), ("**.html", "vidzzle_media.i18n:extract_html")], {}, ROOT / "web")):
        for _file, _line, message, _comments, _context in extract_from_dir(
                str(folder), method_map=method_map, options_map=options, keywords=KEYWORDS):
            found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(language: str):
    with (PACKAGE / "locale" / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
        return read_po(f, locale=language)


def _singular(message) -> str:
    """A message's id (a plural's is its singular)."""
    return message.id if isinstance(message.id, str) else message.id[0]


def test_every_message_has_a_german_translation():
    german = {_singular(m): m.string if isinstance(m.string, str) else all(m.string) and m.string
              for m in catalog("de") if m.id}
    missing = sorted(m for m in source_messages() if not german.get(m))
    assert not missing, f"no German translation (run scripts/update-catalogs, then translate): {missing}"


def test_translations_keep_the_placeholders():
    for language in i18n.languages():
        if language == i18n.SOURCE_LANGUAGE:
            continue
        for m in catalog(language):
            if not m.id or not m.string:
                continue
            if isinstance(m.id, str):
                assert set(PLACEHOLDER.findall(m.id)) == set(PLACEHOLDER.findall(m.string)), (language, m.id)
                continue
            # a plural: the last form says what the plural msgid says; a form
            # for one may leave out the number ("Einmal ..."), never add one
            said = set(PLACEHOLDER.findall(m.id[1]))
            assert set(PLACEHOLDER.findall(m.string[-1])) == said, (language, m.id)
            assert all(set(PLACEHOLDER.findall(form)) <= said for form in m.string), (language, m.id)


def _visible_literals(source: str) -> list[str]:
    """Text between tags and in title/placeholder/aria-label/alt attributes,
    outside Jinja blocks, that contains letters."""
    stripped = re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", "\x00", source, flags=re.S)
    stripped = re.sub(r"<(script|style)\b.*?</\1>", "", stripped, flags=re.S)
    found = [piece.strip() for m in re.finditer(r'\b(title|placeholder|aria-label|alt)="([^"]*)"', stripped)
             for piece in m.group(2).split("\x00")]
    text = re.sub(r"<[^>]*>", "\x00", stripped)
    found += [piece.strip() for piece in text.split("\x00")]
    return [t for t in found if re.search(r"[A-Za-z]", t) and t not in ALLOWED_TEXT
            and not re.fullmatch(r"&\w+;", t)]


@pytest.mark.parametrize("template", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")))
def test_template_has_no_untranslated_text(template):
    assert _visible_literals((TEMPLATES / template).read_text(encoding="utf-8")) == []


def test_the_scan_finds_untranslated_text():
    assert _visible_literals('<p title="Hello">{{ _("Hi") }} there</p>') == ["Hello", "there"]
    assert _visible_literals('<input aria-label="Row {{ n }}">') == ["Row"]
    assert _untranslated_sentences('x = _("Call ended."); y = "Call ended."; el.className = "button primary"; '
                                   '/* "Not this one" */ z = `Hello ${name}, welcome`') == \
        ["Call ended.", "Hello ${name}, welcome"]
    assert _template_sentences('{{ _("Edit it") if x else "Create it" }}') == ["Create it"]


SENTENCE = re.compile(r"[A-ZÄÖÜ][\w'’-]*(?: +[\w'’.,…!?():-]+)+")
"""What reads as a user-visible sentence in a string literal: a capital, then
more words (class names, ids and keys are lower case or one word)."""
BROWSER_SCRIPTS = ROOT / "web"
DEVELOPER_PAGES = {"dev"}
"""web/dev: the developer test room, served only with server.dev_pages (never on an install)."""


def _string_literals(source: str):
    """(offset, text) of each string literal in JavaScript or a Jinja expression; comments skipped."""
    i, n = 0, len(source)
    while i < n:
        if source.startswith("//", i):
            end = source.find("\n", i)
            i = n if end < 0 else end
        elif source.startswith("/*", i):
            end = source.find("*/", i + 2)
            i = n if end < 0 else end + 2
        elif source[i] in "'\"`":
            quote, j = source[i], i + 1
            while j < n and source[j] != quote:
                j += 2 if source[j] == "\\" else 1
            yield i, source[i + 1:j]
            i = j + 1
        else:
            i += 1


def _untranslated_sentences(source: str) -> list[str]:
    found = []
    for at, text in _string_literals(source):
        words = re.sub(r"\$\{[^}]*\}", " ", text).strip()
        if (SENTENCE.fullmatch(words) and not re.search(r"[<>{}=;#/\\]", words) and words not in ALLOWED_TEXT
                and not re.search(r"(\b_|gettext|console\.\w+|Error)\($", source[max(0, at - 12):at].rstrip())):
            found.append(text)
    return found


def _template_sentences(source: str) -> list[str]:
    return [text for match in re.finditer(r"\{\{(.*?)\}\}|\{%(.*?)%\}", source, flags=re.S)
            for text in _untranslated_sentences(match.group(1) or match.group(2))]


@pytest.mark.parametrize("script", sorted(p.relative_to(BROWSER_SCRIPTS).as_posix()
                                          for p in BROWSER_SCRIPTS.rglob("*.js")
                                          if p.relative_to(BROWSER_SCRIPTS).parts[0] not in DEVELOPER_PAGES))
def test_browser_script_has_no_untranslated_sentence(script):
    assert _untranslated_sentences((BROWSER_SCRIPTS / script).read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("template", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")))
def test_template_expressions_have_no_untranslated_sentence(template):
    assert _template_sentences((TEMPLATES / template).read_text(encoding="utf-8")) == []


def test_extraction_covers_every_kind_of_source():
    found = source_messages()
    assert {"Dashboard",                       # menu (Python, MenuItem)
            "Users logged in now",             # back-office template
            "Good connection",                 # browser script
            "Accept and join",                 # static page (data-i18n)
            "Accept and start the call"} <= found   # embed.js


async def test_browser_catalog_endpoint(client):
    resp = await client.get("/i18n/messages.json?lang=fr-FR,de-DE")
    body = await resp.json()
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert body["language"] == "de" and body["messages"]["Good connection"] == "Gute Verbindung"
    body = await (await client.get("/i18n/messages.json?lang=fr")).json()
    assert body["language"] == "en" and body["messages"] == {}      # the test install's default


SHOWN_KEYS = {"title", "message", "hint", "button", "label"}
"""Keys of the dicts the views hand to message/confirm pages."""
SHOWN_ERRORS = {"AppError", "BadRequest", "ValidationError", "Unauthorized", "Forbidden", "NotFound", "Conflict",
                "Gone", "TooManyRequests", "ImageProblem"}
"""Exceptions whose message a person reads (ValueError & co. are for developers and logs)."""


def _python_literals_shown(source: str) -> list[str]:
    """Plain or f-string literals (not ``gettext``) that reach a reader: page
    titles/messages/buttons, messages of the errors above, ``errors[...]`` and
    ``problems[...]`` of forms."""
    def literal(node):
        return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str)
                                                   and re.search(r"[A-Za-z]", node.value) is not None)
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Dict):
            found += [v for k, v in zip(node.keys, node.values, strict=True)
                      if isinstance(k, ast.Constant) and k.value in SHOWN_KEYS and literal(v)]
        elif isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            if name in SHOWN_ERRORS and node.args and literal(node.args[0]):
                found.append(node.args[0])
        elif isinstance(node, ast.Assign) and literal(node.value):
            if any(isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id in ("errors", "problems")
                   for t in node.targets):
                found.append(node.value)
    return [ast.unparse(n) for n in found]


@pytest.mark.parametrize("module", sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")))
def test_python_hands_no_untranslated_text_to_a_reader(module):
    assert _python_literals_shown((PACKAGE / module).read_text(encoding="utf-8")) == []


def test_the_python_scan_finds_untranslated_text():
    assert sorted(_python_literals_shown('''
render(request, "m.html", {"title": f"Delete {name}?", "message": gettext("Sure?")})
raise NotFound("No such thing.")
errors["name"] = "Required."
raise ValueError("for the log")
''')) == ["'No such thing.'", "'Required.'", "f'Delete {name}?'"]
