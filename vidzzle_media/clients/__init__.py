"""The browser clients' server side: /embed.js, the customer call page
(/call), the invitee page (/join/<token>) and their small public JSON
endpoints. ``setup(app)`` registers them (routes.py)."""

from .routes import setup

__all__ = ["setup"]
