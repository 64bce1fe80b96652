"""What both WebSocket protocols share (the room signalling, signalling/messages.py,
and the agents' socket, services/calls/agent_messages.py): messages are JSON
objects with a ``type``, defined as dataclasses; client requests may carry an
``id`` that the server echoes as ``ref``. Parsing is strict (unknown type,
missing or mistyped field -> :class:`ProtocolError`) so the socket can answer
with an ``error`` message and go on.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

MAX_SDP = 100_000
MAX_TEXT = 200


class ProtocolError(ValueError):
    """A message the server cannot act on; becomes an ``error`` reply."""

    def __init__(self, code: str, message: str, ref: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref


# --- client -> server -----------------------------------------------------------

@dataclass
class ClientMessage:
    """Base of client requests."""

    type: ClassVar[str] = ""
    id: str | None = field(default=None, kw_only=True)
    """Optional request id, echoed as ``ref``."""


def _check(cls: type[ClientMessage], name: str, value: Any, hint: Any) -> Any:
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, __import__("types").UnionType) else (hint,)
    for opt in options:
        if opt is type(None) and value is None:
            return None
        if opt is bool and isinstance(value, bool):
            return value
        if opt is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if opt is str and isinstance(value, str):
            limit = MAX_SDP if name == "sdp" else (MAX_SDP // 10 if name == "candidate" else MAX_TEXT)
            if len(value) > limit:
                raise ProtocolError("bad_message", f"{cls.type}.{name} too long")
            return value
    raise ProtocolError("bad_message", f"{cls.type}.{name} has the wrong type")


def parse_message(raw: str | bytes, registry: Mapping[str, type[ClientMessage]]) -> ClientMessage:
    """One WebSocket text frame -> the client message dataclass its ``type`` names in
    ``registry`` (or ProtocolError)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError("bad_json", f"not JSON: {exc.__class__.__name__}") from None
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", "a message is a JSON object")
    ref = data.get("id") if isinstance(data.get("id"), str) else None
    kind = data.get("type")
    cls = registry.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ProtocolError("unknown_type", f"unknown message type {str(data.get('type'))[:40]!r}", ref)
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    try:
        for f in fields(cls):
            if f.name in data:
                kwargs[f.name] = _check(cls, f.name, data[f.name], hints[f.name])
            elif f.default is f.default_factory is __import__("dataclasses").MISSING:
                raise ProtocolError("bad_message", f"{cls.type}.{f.name} is missing")
    except ProtocolError as exc:
        exc.ref = ref
        raise
    return cls(**kwargs)


# --- server -> client ---------------------------------------------------------------

@dataclass
class ServerMessage:
    """Base of server messages; ``to_json`` adds the ``type``."""

    type: ClassVar[str] = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["type"] = self.type
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict())



@dataclass
class Error(ServerMessage):
    """A request failed; the connection goes on."""

    type: ClassVar[str] = "error"
    code: str
    message: str
    ref: str | None = None
