"""What call routing needs from the video rooms, declared here so that
services/ and routing/ depend on an interface, not on signalling/ or sfu/.

signalling's RoomDirectory satisfies ``RoomDirectory``; the composition root
(app.py) hands it to CallService, and api.setup forwards its events to
``CallService.on_room_closed`` / ``on_room_moved`` / ``on_participant_left`` / ``on_participant_joined``.
"""

from __future__ import annotations

from typing import Any, Protocol


class RoomDirectory(Protocol):
    """The SFU's room registry as seen by call routing."""

    async def create_room(self, documents: list[Any]) -> str:
        """A new room showing ``documents`` as its presentation; returns its id."""

    def issue_token(self, room_id: str, role: str, display_name: str) -> str:
        """A join token for ``role`` ('customer' or 'agent') in the room."""

    async def close_room(self, room_id: str, reason: str) -> None:
        """Close the room (everyone leaves); unknown ids are ignored."""

    def media_arriving(self, room_id: str, role: str) -> bool:
        """A participant of ``role`` in the room sends media that reaches the server now."""

