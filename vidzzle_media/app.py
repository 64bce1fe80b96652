"""Assembly: ``create_app(settings)`` builds the one aiohttp application.

Everything long-lived (database, background senders, rooms) is started and
stopped through ``cleanup_ctx`` so a stop cancels and awaits it in reverse
order of start.
"""

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path

import aiohttp_session
from aiohttp import web
from aiohttp_session.cookie_storage import EncryptedCookieStorage

from . import keys
from .config import Settings
from .errors import AppError
from .paths import web_root
from .store import Database
from .services import outbox

log = logging.getLogger(__name__)


def _session_key(data_dir: Path) -> bytes:
    """A per-install secret for the encrypted session cookie, kept in the data dir."""
    path = data_dir / "session.key"
    if path.exists():
        return base64.urlsafe_b64decode(path.read_bytes())
    key = os.urandom(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.urlsafe_b64encode(key))
    return key


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


#: set by the back office to render error pages inside its layout
ERROR_RENDERER = web.AppKey("error_renderer", object)


async def healthz(request: web.Request) -> web.Response:
    db = request.app[keys.DATABASE]
    version = await db.fetchval("SELECT MAX(version) FROM schema_migrations")
    return web.json_response({"status": "ok", "schema_version": version})


def create_app(settings: Settings) -> web.Application:
    settings.data_path.mkdir(parents=True, exist_ok=True)
    app = web.Application(middlewares=[error_middleware], client_max_size=32 * 1024 * 1024)
    app[keys.SETTINGS] = settings
    database = Database(settings.database_path, settings.database.busy_timeout_ms)
    app[keys.DATABASE] = database

    async def database_ctx(app: web.Application):
        await database.open()
        yield
        await database.close()

    app.cleanup_ctx.append(database_ctx)
    outbox.setup(app)  # after the database: the worker stops before it closes
    from . import api  # call routing: public call API, /ws/agent, CallService (after the outbox)
    api.setup(app)
    from . import signalling  # rooms + /ws/room; after api: its cleanup closes rooms before calls/db
    from .services.rooms import ROOMS  # call routing reaches the rooms through its Protocol
    app[ROOMS] = signalling.setup(app, settings.ice, dev_pages=settings.server.dev_pages)
    aiohttp_session.setup(
        app,
        EncryptedCookieStorage(
            _session_key(settings.data_path),
            cookie_name="vidzzle_session",
            secure=settings.tls.enabled,
            httponly=True,
            samesite="Lax",
            max_age=12 * 3600,
        ),
    )
    app.router.add_get("/healthz", healthz)
    app.router.add_static("/static/", web_root(), follow_symlinks=False)
    from . import clients  # /embed.js, the customer and invitee pages
    clients.setup(app)
    from . import admin  # late import: the back office imports this module
    admin.setup(app)
    return app
