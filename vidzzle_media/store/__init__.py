"""SQLite access. All SQL of the product lives in this package."""

from aiosqlite import Connection

from .database import Database

__all__ = ["Connection", "Database"]
"""``Connection``: a transaction's writer connection (``Database.transaction()``), for type hints above the store."""
