"""Security headers on every response (aiohttp's on_response_prepare, so
static files and error pages get them too).

- Everywhere: ``X-Content-Type-Options: nosniff``; HSTS when the server's
  certificate is one a browser trusts (``tls.cert_file`` set — a
  generated self-signed one is not, and HSTS would lock visitors out).
- The back office and everything else of ours: a strict Content Security
  Policy — scripts only from this origin, never inline (no event-handler
  attributes either), no plugins, no foreign frames, and it may not be
  framed by anyone (``frame-ancestors 'none'``, X-Frame-Options for old
  browsers). Inline styles stay allowed: the mail preview is an HTML mail.
- The customer's call page (``/call``, ``/join/...``): the same script
  rules, but a dealer's site frames it (embed.js), so ``frame-ancestors``
  lists the sites the call button may live on (``*`` by default).
- Responses meant for other origins (``embed.js``, the CORS JSON) carry no
  page policy: they are not documents.
"""

from __future__ import annotations

from aiohttp import web

from . import keys

BASE = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
        "media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'")
BACK_OFFICE = f"{BASE}; frame-ancestors 'none'"


def is_customer_page(path: str) -> bool:
    return path == "/call" or path.startswith("/join/")


def customer_policy(ancestors: str = "*") -> str:
    """The call page's policy: framed by ``ancestors`` (space-separated origins, or ``*``)."""
    return f"{BASE}; frame-ancestors {ancestors}"


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    settings = request.config_dict[keys.SETTINGS]
    if settings.tls.enabled and settings.tls.cert_file:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    content_type = headers.get("Content-Type", response.content_type or "")
    if not content_type.startswith("text/html") and response.status < 400:
        return
    if is_customer_page(request.path):
        headers.setdefault("Content-Security-Policy", customer_policy())
    else:
        headers["Content-Security-Policy"] = BACK_OFFICE
        headers["X-Frame-Options"] = "DENY"
    headers.setdefault("Referrer-Policy", "same-origin")


def setup(app: web.Application) -> None:
    app.on_response_prepare.append(add_security_headers)
