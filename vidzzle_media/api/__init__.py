"""Public and agent-facing HTTP endpoints of call routing.

``setup(app)`` creates Presence and the CallService, adds the public call
API (/api/calls, api/calls.py) and the agents' WebSocket (/ws/agent,
api/agent_socket.py), and on start picks up the RoomDirectory stored under
``services.rooms.ROOMS`` and closes calls left open by a previous process.
"""

from __future__ import annotations

from aiohttp import web

from ..services.calls.service import CallService
from . import agent_socket, calls


def connect_room_events(service: CallService, rooms) -> bool:
    """Follow the room directory's pyee events (``room_closed`` and
    ``room_moved`` with ``.room_id``/``.reason``, ``participant_left``/``participant_joined`` with
    ``.room_id``/``.role``)
    by duck typing, so nothing here imports signalling/. False when the
    directory emits no events."""
    on = getattr(rooms, "on", None)
    if on is None:
        return False

    def room_closed(event) -> None:
        service.track(service.on_room_closed(event.room_id, getattr(event, "reason", "")))

    def room_moved(event) -> None:
        service.track(service.on_room_moved(event.room_id, event.reason))

    def participant_left(event) -> None:
        service.track(service.on_participant_left(event.room_id, event.role))

    def participant_joined(event) -> None:
        service.track(service.on_participant_joined(event.room_id, event.role))

    on("room_closed", room_closed)
    on("room_moved", room_moved)
    on("participant_left", participant_left)
    on("participant_joined", participant_joined)
    return True


def setup(app: web.Application, service: CallService) -> None:
    """The public call API and the agents' socket; ``service`` (built in app.py) is
    started (calls left open by a previous process are closed) and stopped with the app."""
    calls.register(app)
    agent_socket.register(app)

    if service.rooms is not None:
        connect_room_events(service, service.rooms)

    async def calls_ctx(app: web.Application):
        await service.close_unfinished()
        yield
        await service.close()

    async def stop_calls(app: web.Application) -> None:
        await service.shutdown()
        # the back office's sockets would otherwise hold the stop until aiohttp's shutdown timeout (60 s)
        await service.presence.close_all()

    app.cleanup_ctx.append(calls_ctx)
    app.on_shutdown.append(stop_calls)  # before signalling's: calls end before their rooms
