"""Shared by every route: the language of the request, and error handling
(AppError -> its status, as JSON for API/WebSocket clients or as an error
page; the back office registers a renderer that draws it inside its layout).
This is the one place HTTP errors are rendered; a handler whose errors must be
JSON (with CORS, say) whatever the client asks for is marked ``json_errors``."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping

from aiohttp import web

from . import keys
from .errors import AppError, Forbidden, NotFound
from .i18n import N_, from_accept_language, gettext, pick, set_language

log = logging.getLogger(__name__)

#: set by the back office to render error pages inside its layout


JSON_ERRORS = "vidzzle_json_errors"
"""Request key: this request's errors are JSON, with these extra headers (json_errors)."""


def json_errors(headers: Mapping[str, str] | None = None):
    """Handler decorator: its errors are answered as JSON carrying ``headers``
    (e.g. CORS, so that the dealer's page can read them)."""
    def wrap(handler):
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            request[JSON_ERRORS] = dict(headers or {})
            return await handler(request)
        return wrapped
    return wrap


def wants_json(request: web.Request) -> bool:
    return (JSON_ERRORS in request or request.path.startswith(("/api/", "/ws/"))
            or "application/json" in request.headers.get("Accept", ""))


STATUS_TITLES = {403: Forbidden.title, 404: NotFound.title, 405: N_("Method not allowed")}


@web.middleware
async def language_middleware(request: web.Request, handler):
    """Customer pages, the public API and signalling speak the language the
    page asks for: ``?lang=``, else Accept-Language (the call page sends its
    own language there), else the install's. The back office sets its
    user's language on top (admin/auth.py)."""
    wanted = [request.query.get("lang", "")[:20], *from_accept_language(request.headers.get("Accept-Language", ""))[:10]]
    set_language(pick(*wanted, default=request.config_dict[keys.SETTINGS].server.language))
    return await handler(request)


@web.middleware
async def error_middleware(request: web.Request, handler):
    """AppError -> its status as JSON (API) or an error page; anything else -> 500."""
    try:
        return await handler(request)
    except AppError as exc:
        return await render_error(request, exc.status, exc.title, exc.message, exc.fields, exc.headers)
    except web.HTTPException as exc:
        if exc.status in STATUS_TITLES:
            title = STATUS_TITLES[exc.status]
            return await render_error(request, exc.status, title, gettext(title), {})
        raise
    except ConnectionResetError:
        # the browser went away mid-request (a page left while its socket was opening): not our error
        log.info("client closed the connection during %s %s", request.method, request.path)
        return web.Response(status=400)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return await render_error(request, 500, AppError.title, gettext("Something went wrong on our side."), {})


async def render_error(request: web.Request, status: int, title: str, message: str, fields: dict,
                       headers: Mapping[str, str] | None = None) -> web.StreamResponse:
    if wants_json(request):
        response = web.json_response({"error": message, "fields": fields}, status=status)
        response.headers.update(request.get(JSON_ERRORS, {}))
        response.headers.update(headers or {})
        response.headers["Cache-Control"] = "no-store"
        return response
    renderer = request.app.get(keys.ERROR_RENDERER)
    if renderer is not None:
        return await renderer(request, status, title, message)
    return web.Response(status=status, text=f"{status} {gettext(title)}\n{message}\n")


