"""Typed keys for what the application object holds (aiohttp ``web.AppKey``)."""

from __future__ import annotations

from aiohttp import web

from .config import Settings
from .listening import Listening
from .relay.server import TurnServer
from .services.accounts.activity import BackOfficeActivity
from .store import Database

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
ACTIVITY = web.AppKey("activity", BackOfficeActivity)
RELAY = web.AppKey("relay", TurnServer)
"""Only with relay.enabled."""
LISTENING = web.AppKey("listening", Listening)
"""Where the server actually serves (its port is known once bound)."""
