"""Typed keys for what the application object holds (aiohttp ``web.AppKey``)."""

from __future__ import annotations

import ssl
from typing import Awaitable, Callable

import jinja2
from aiohttp import web

from .certificates import AcmeCertificates
from .config import Settings
from .listening import Listening
from .nodes import Nodes
from .relay.server import TurnServer
from .services.accounts.activity import BackOfficeActivity
from .services.calls.presence import Presence
from .services.calls.service import CallService
from .services.outbox.worker import OutboxWorker
from .signalling.rooms import RoomDirectory
from .store import Database
from .turn_servers import IceServers

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
ACTIVITY = web.AppKey("activity", BackOfficeActivity)
RELAY = web.AppKey("relay", TurnServer)
"""Only with relay.enabled."""
LISTENING = web.AppKey("listening", Listening)
"""Where the server actually serves (its port is known once bound)."""
TLS = web.AppKey("tls", ssl.SSLContext)
"""The HTTPS (and TURN/TLS) context; only with tls.enabled. ACME reloads its certificate in place."""
CERTIFICATES = web.AppKey("certificates", AcmeCertificates)
"""Only with tls.acme."""
OUTBOX = web.AppKey("outbox", OutboxWorker)
"""Delivers mails, SMS and webhooks; ``wake()`` after committing outbox rows."""
NODES = web.AppKey("nodes", Nodes)
"""This node, and the others sharing its store (issue 31)."""
PRESENCE = web.AppKey("presence", Presence)
"""Which agents have the back office open (their /ws/agent sockets)."""
CALLS = web.AppKey("calls", CallService)
"""Call routing: ringing, accepting, ending, the call records."""
ROOMS = web.AppKey("rooms", RoomDirectory)
"""The SFU's rooms (signalling/rooms.py); call routing sees them as services/calls/room_port.RoomDirectory."""
ICE_SERVERS = web.AppKey("ice_servers", IceServers)
"""``(host) -> RTCIceServer dicts``: the configured STUN/TURN servers and the built-in relay, given to every participant."""
LIMITS = web.AppKey("call_api_limits", dict)
"""Per-address rate limiters of the public call API, by bucket (api/calls.py)."""
ErrorRenderer = Callable[[web.Request, int, str, str], Awaitable[web.StreamResponse]]
ERROR_RENDERER: web.AppKey[ErrorRenderer] = web.AppKey("error_renderer")
"""``(request, AppError) -> Response`` for HTML error pages (the back office's layout); without it, plain pages."""
JINJA = web.AppKey("admin_jinja", jinja2.Environment)
"""The back office's templates."""
ADMIN_APP = web.AppKey("admin_app", web.Application)
"""The /admin sub-application (its router lists the back-office routes)."""
