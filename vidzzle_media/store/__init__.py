"""SQLite access. All SQL of the product lives in this package."""

from .database import Database

__all__ = ["Database"]
