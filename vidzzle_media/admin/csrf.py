"""CSRF protection for the back office, on top of aiohttp-session.

Every POST/PUT/PATCH/DELETE under /admin must carry the session's token, as
form field ``csrf_token`` or header ``X-CSRF-Token``; otherwise 403. The
token lives in the encrypted session cookie, so an attacker's page can
neither read nor forge it. Forms read through ``await request.post()``
(cached by aiohttp, so handlers can call it again).
"""

from __future__ import annotations

import hmac
import secrets

from aiohttp import web
from aiohttp_session import Session, get_session

from ..errors import BadRequest, Forbidden
from ..i18n import gettext

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_FIELD = "csrf"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"


def csrf_token(session: Session) -> str:
    """The session's token, created on first use."""
    token = session.get(SESSION_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_FIELD] = token
    return token


async def _sent_token(request: web.Request) -> str | None:
    header = request.headers.get(HEADER)
    if header:
        return header
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.post()
        except ValueError:   # malformed body: treat as "no token"
            return None
        value = form.get(FORM_FIELD)
        return value if isinstance(value, str) else None
    return None


@web.middleware
async def csrf_middleware(request: web.Request, handler):
    session = await get_session(request)   # loaded once; flash() relies on it
    expected = csrf_token(session)
    if request.method not in SAFE_METHODS:
        sent = await _sent_token(request)
        if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
            raise Forbidden(gettext("This form has expired or did not come from this site. Please go back, reload the page and try again."))
        if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            # read once here (aiohttp keeps it for the handler): a body it cannot
            # read (not UTF-8, no multipart boundary) is a 400 for every form,
            # not whatever the handler that reads it first makes of the error
            try:
                await request.post()
            except ValueError:
                raise BadRequest(gettext("The request body could not be read.")) from None
    return await handler(request)
