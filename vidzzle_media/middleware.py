"""Error handling shared by every route: AppError -> its status, as JSON for
API/WebSocket clients or as an error page (the back office registers a
renderer that draws it inside its layout)."""

from __future__ import annotations

import logging

from aiohttp import web

from .errors import AppError

log = logging.getLogger(__name__)

#: set by the back office to render error pages inside its layout
ERROR_RENDERER = web.AppKey("error_renderer", object)


def wants_json(request: web.Request) -> bool:
    return request.path.startswith(("/api/", "/ws/")) or "application/json" in request.headers.get("Accept", "")


@web.middleware
async def error_middleware(request: web.Request, handler):
    """AppError -> its status as JSON (API) or an error page; anything else -> 500."""
    try:
        return await handler(request)
    except AppError as exc:
        return await render_error(request, exc.status, exc.title, exc.message, exc.fields)
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.status in (403, 404, 405):
            return await render_error(request, exc.status, exc.reason, exc.reason, {})
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return await render_error(request, 500, "Internal error", "Something went wrong on our side.", {})


async def render_error(request: web.Request, status: int, title: str, message: str, fields: dict) -> web.StreamResponse:
    if wants_json(request):
        return web.json_response({"error": message, "fields": fields}, status=status)
    renderer = request.app.get(ERROR_RENDERER)
    if renderer is not None:
        return await renderer(request, status, title, message)
    return web.Response(status=status, text=f"{status} {title}\n{message}\n")


