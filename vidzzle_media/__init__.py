"""Vidzzle Media: self-hosted video calls in one Python process."""

__version__ = "0.1.0"
