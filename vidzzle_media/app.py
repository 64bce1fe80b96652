"""Assembly: ``create_app(settings)`` builds the one aiohttp application.

Everything long-lived (database, background senders, rooms) is started and
stopped through ``cleanup_ctx`` so a stop cancels and awaits it in reverse
order of start.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import secrets
import ssl
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp_session
from aiohttp import web
from aiohttp_session.cookie_storage import EncryptedCookieStorage
from cryptography import fernet

from . import admin, api, clients, headers, keys, monitoring, senders, signalling
from .admin.render import render_error
from .api.calls import call_limits
from .certificates import AcmeCertificates
from .config import Settings, acme_domain
from .listening import Listening
from .middleware import error_middleware, language_middleware
from .nodes import Nodes
from .paths import web_root
from .relay import credentials as relay_credentials
from .relay.server import RelayLimits, TurnServer
from .services.accounts.activity import BackOfficeActivity
from .services.branding import brand
from .services.calls.presence import Presence
from .services.calls.service import CallService
from .services.outbox import mail as outbox_mail
from .services.outbox.worker import OutboxWorker
from .sfu import IcePolicy
from .sfu import core as media_core
from .sfu.core import MediaCore
from .signalling import RoomDirectory
from .store import database_for
from .store.shared_keys import shared_key
from .tls import server_ssl_context
from .turn_servers import BuiltIn, IceServers, TurnAccount
from .workers.pool import WorkerPool

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


class _SessionCookies(EncryptedCookieStorage):
    """The encrypted session cookie, whose key may change once at start: on
    a store that several nodes share, to the key they all use (a login is
    valid on every node)."""

    def use_key(self, key: bytes) -> None:
        self._fernet = fernet.Fernet(base64.urlsafe_b64encode(key))


def _relay(app: web.Application, settings: Settings, rooms: RoomDirectory) -> BuiltIn:
    """The built-in TURN relay: on the HTTPS port (serving.py; relay.port 0)
    or a port of its own, relays only to the SFU's media addresses; returns
    the entry every participant gets (fresh credentials) in signalling's ``joined``."""
    conf = settings.relay
    secret = conf.secret.encode("utf-8") or secrets.token_bytes(32)
    server = TurnServer(secret, rooms.ice.media_addresses,
                        limits=RelayLimits(conf.max_allocations, conf.max_allocations_per_user, conf.max_lifetime_s))
    app[keys.RELAY] = server
    tls = app.get(keys.TLS)
    shared = conf.port == 0
    bound: list[int] = []       # the relay's own port, once listening

    def ice_servers(request_host: str) -> list[dict]:
        port = app[keys.LISTENING].port if shared else (bound[0] if bound else 0)
        if not port:
            return []
        host = urlsplit(settings.server.public_url).hostname or request_host
        if ":" in host:
            host = f"[{host}]"
        credential = relay_credentials.issue(secret, "call", conf.credential_ttl_s, time.time())
        urls = [f"turn:{host}:{port}?transport=tcp"]
        if tls is not None:   # works only with a certificate the browser trusts; plain TURN/TCP works with any
            urls.insert(0, f"turns:{host}:{port}?transport=tcp")
        return [{"urls": urls, "username": credential.username, "credential": credential.password}]

    async def relay_ctx(app: web.Application):
        if shared:      # serving.py hands it the HTTPS port's TURN connections
            server.start()
            yield
            await server.close()
            return
        try:
            bound.append(await server.listen(conf.host or settings.server.host, conf.port, tls))
            log.info("TURN relay on port %d (TCP%s)", bound[0], " and TLS" if tls is not None else "")
        except OSError as exc:   # calls still work where UDP passes; say what to change
            log.error("the TURN relay cannot listen on port %d (%s): customers whose network blocks UDP cannot "
                      "connect. Free the port, set relay.port, or set relay.enabled = false.", conf.port,
                      exc.strerror or exc)
        yield
        await server.close()

    app.cleanup_ctx.append(relay_ctx)
    return ice_servers


def _acme(app: web.Application, settings: Settings, context: ssl.SSLContext) -> None:
    """Certificates by ACME: the stored one at once, a new one when due; the
    HTTP-01 answers (and a redirect to HTTPS) on tls.acme_http_port."""
    conf = settings.tls
    manager = AcmeCertificates(acme_domain(settings), settings.data_path, context, directory_url=conf.acme_directory,
                               email=conf.acme_email, ca_file=conf.acme_ca_file)
    manager.load_into_context()
    app[keys.CERTIFICATES] = manager

    async def acme_ctx(app: web.Application):
        runner = web.AppRunner(manager.http_app(settings.server.public_url), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, settings.server.host or None, conf.acme_http_port).start()
        except OSError as exc:
            log.error("cannot listen on port %d for the ACME HTTP-01 answers (%s): no trusted certificate can be "
                      "obtained. Free the port, or allow it (systemd: AmbientCapabilities=CAP_NET_BIND_SERVICE).",
                      conf.acme_http_port, exc.strerror or exc)
        task = asyncio.get_running_loop().create_task(manager.run())
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await runner.cleanup()

    app.cleanup_ctx.append(acme_ctx)


def create_app(settings: Settings) -> web.Application:
    settings.data_path.mkdir(parents=True, exist_ok=True)
    app = web.Application(middlewares=[language_middleware, error_middleware], client_max_size=32 * 1024 * 1024)
    app[keys.SETTINGS] = settings
    context = server_ssl_context(settings.tls)     # ConfigError when the certificate cannot be read
    if context is not None:
        app[keys.TLS] = context
        if settings.tls.acme:
            _acme(app, settings, context)
    app[keys.LISTENING] = Listening("https" if settings.tls.enabled else "http", settings.server.host,
                                    settings.server.port)
    database = database_for(settings.database.url, settings.database_path, settings.data_path,
                            settings.database.busy_timeout_ms)
    app[keys.DATABASE] = database
    app[keys.ACTIVITY] = BackOfficeActivity(database)
    brand.set_default_appname(settings.server.appname)

    async def database_ctx(app: web.Application):
        await database.open()
        yield
        await database.close()

    app.cleanup_ctx.append(database_ctx)
    nodes = Nodes(database, lambda: settings.server.node_url or app[keys.LISTENING].origin)
    app[keys.NODES] = nodes
    cookies = _SessionCookies(_session_key(settings.data_path), cookie_name="vidzzle_session",
                              secure=settings.tls.enabled, httponly=True, samesite="Lax", max_age=12 * 3600)

    async def nodes_ctx(app: web.Application):
        if database.shared:     # what every node must have alike: logins, room tokens
            cookies.use_key(await shared_key(database, "session"))
            rooms.token_key = await shared_key(database, "room_tokens")
        await nodes.start()
        yield
        await nodes.stop()

    app.cleanup_ctx.append(nodes_ctx)
    # Order matters: cleanup runs in reverse, so rooms close before calls,
    # calls before the outbox (which flushes), and the outbox before the database.
    outbox_mail.configure(settings)
    outbox = OutboxWorker(database, settings, sender_source=senders.OutboxSenders(database, settings))
    app[keys.OUTBOX] = outbox

    async def outbox_ctx(app: web.Application):
        await outbox.start()
        yield
        await outbox.stop()

    app.cleanup_ctx.append(outbox_ctx)
    presence = Presence(nodes)
    app[keys.PRESENCE] = presence
    turn = TurnAccount.from_settings(settings.ice)      # credentials of the install's own TURN servers
    media_core.select(MediaCore(settings.media.core))    # the per-packet forwarding core, process wide
    ice = IcePolicy(settings.ice, turn_credential=turn.credential)
    # the SFU's rooms: in this process, or in media worker processes
    media = WorkerPool(settings.server.media_workers, ice, core=settings.media.core, log_level=settings.server.log_level,
                       log_json=settings.server.log_json) if settings.server.media_workers else None
    rooms = RoomDirectory(ice, media=media, node=nodes.id)
    app[keys.ROOMS] = rooms
    # call routing sees the rooms through its own Protocol (services/calls/room_port.py)
    calls = CallService(database, settings, presence, rooms=rooms, wake=outbox.wake)
    app[keys.CALLS] = calls
    app[keys.LIMITS] = call_limits()                    # per-address limits of the public call API
    api.setup(app, calls)  # call routing: public call API, /ws/agent (calls end before their rooms)
    built_in = _relay(app, settings, rooms) if settings.relay.enabled else None
    ice_servers = IceServers(settings.ice, turn, built_in)      # what every browser gets in ``joined``
    app[keys.ICE_SERVERS] = ice_servers
    signalling.setup(app, rooms, ice_servers=ice_servers, dev_pages=settings.server.dev_pages, locate=nodes.url_of)
    aiohttp_session.setup(app, cookies)
    headers.setup(app)  # CSP, nosniff, HSTS on every response
    monitoring.setup(app)  # /healthz, /metrics
    app.router.add_static("/static/", web_root(), follow_symlinks=False)
    clients.setup(app)  # /embed.js, the customer and invitee pages
    admin.template_environment(app)                     # keys.JINJA: the back office's templates
    app[keys.ERROR_RENDERER] = render_error       # error pages inside the back-office layout
    admin.setup(app)  # the back office at /admin
    return app
