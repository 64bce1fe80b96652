"""The store: SQLite (the embedded default) or PostgreSQL (``database.url``).
All SQL of the product lives in this package, written once for both."""

from ._rows import Connection
from .database import Database, database_for
from .postgres import PostgresDatabase

__all__ = ["Connection", "Database", "PostgresDatabase", "database_for"]
"""``Connection``: a transaction's writer connection (``Database.transaction()``), for type hints above the store."""
