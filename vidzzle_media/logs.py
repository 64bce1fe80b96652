"""Logging: one line per event, plain or JSON."""

from __future__ import annotations

import json
import logging


class JsonFormatter(logging.Formatter):
    def __init__(self, process: str = "") -> None:
        super().__init__()
        self.process = process

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if self.process:
            entry["process"] = self.process
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


QUIET_LIBRARIES = ("aioice", "aiortc")
"""Libraries whose INFO is detail for their developers, not for an administrator."""


def configure_logging(level: str = "INFO", as_json: bool = False, process: str = "") -> None:
    """``process``: which of the server's processes logs (a media worker
    says ``media-worker N``; they all write to the server's stderr)."""
    handler = logging.StreamHandler()
    if as_json:
        handler.setFormatter(JsonFormatter(process))
    else:
        where = f"[{process}] " if process else ""
        handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s {where}%(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aioice and aiortc log every ICE check and state change at INFO: dozens
    # of lines per call, and a stranger's offer can start them (bench/fuzz.py).
    # They speak at WARNING unless the whole server logs at DEBUG.
    quiet = logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(quiet)
