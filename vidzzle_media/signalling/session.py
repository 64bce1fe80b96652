"""Session: one participant's WebSocket, from ``join`` to close.

Catches broadly at this boundary: aiortc/aioice raise AssertionError,
KeyError, struct.error... on hostile SDP (DESIGN.md), so any failure of one
request becomes an ``error`` reply and the connection and room go on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

from ..sfu import NegotiationError, Participant
from ..values import RoomRole
from . import messages as m
from .rooms import ParticipantEvent

if TYPE_CHECKING:
    from .rooms import Grant, RoomDirectory, RoomEntry

log = logging.getLogger(__name__)

#: outgoing messages queued for a slow client before it is disconnected
OUT_QUEUE = 256
FLUSH_S = 1.0
"""How long a closing session waits for its last messages (room_closed, left) to go out."""
#: incoming message budget: a burst of RATE_BURST, refilled at RATE_PER_S
RATE_BURST = 100
RATE_PER_S = 20.0


class RateLimitedLog:
    """At most one log line per key per ``interval`` (hostile input is cheap to send)."""

    def __init__(self, interval: float = 10.0) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}
        self._suppressed: dict[str, int] = {}

    def warning(self, key: str, msg: str, *args) -> None:
        now = time.monotonic()
        if now - self._last.get(key, -1e9) >= self.interval:
            self._last[key] = now
            log.warning(msg + " (%d similar suppressed)", *args, self._suppressed.pop(key, 0))
        else:
            self._suppressed[key] = self._suppressed.get(key, 0) + 1


BAD_INPUT_LOG = RateLimitedLog()


class MessageBudget:
    """Incoming messages allowed: a burst of RATE_BURST, refilled at RATE_PER_S."""

    def __init__(self) -> None:
        self.left, self.at = float(RATE_BURST), time.monotonic()

    def spend(self) -> bool:
        now = time.monotonic()
        self.left = min(RATE_BURST, self.left + (now - self.at) * RATE_PER_S)
        self.at = now
        if self.left < 1:
            return False
        self.left -= 1
        return True


class Session:
    """Drives one WebSocket: parses messages, calls the SFU, sends events."""

    def __init__(self, directory: RoomDirectory, ws: web.WebSocketResponse, ice_servers: list[dict] | None = None) -> None:
        self.directory = directory
        self.ws = ws
        self.ice_servers = ice_servers or []
        """What the browser adds to its RTCPeerConnections (sent in ``joined``)."""
        self.grant: Grant | None = None
        self.token: str | None = None
        self.entry: RoomEntry | None = None
        self.room: Any = None
        """The media room joined (the entry's room until it moves)."""
        self.participant: Participant | None = None
        self._out: asyncio.Queue[str | None] = asyncio.Queue(OUT_QUEUE)
        self._announced: dict[str, dict] = {}
        self._closing = False
        self._rate = MessageBudget()
        """This connection's until it joins; then its token's (a reconnect does not refill it)."""

    def _membership(self) -> tuple[Grant, str, RoomEntry]:
        """Grant, token and room of a joined session (set together by ``join``)."""
        if self.grant is None or self.token is None or self.entry is None:
            raise m.ProtocolError("not_joined", "send join first")
        return self.grant, self.token, self.entry

    def event(self, participant: Participant) -> ParticipantEvent:
        grant, _, entry = self._membership()
        return ParticipantEvent(entry.room.id, participant.id, grant.role, participant.display_name)

    # --- loop -----------------------------------------------------------------------

    async def run(self, first: str | None = None) -> None:
        """Until the socket closes; ``first``: a text frame already read from it."""
        writer = asyncio.ensure_future(self._write())
        try:
            if first is not None:
                await self._handle_text(first)
            async for msg in self.ws:
                if msg.type == WSMsgType.TEXT:
                    await self._handle_text(msg.data)
                elif msg.type == WSMsgType.BINARY:
                    self.send(m.Error("bad_message", "binary frames are not accepted"))
                if self._closing:
                    break
        finally:
            try:
                await self._leave()
            finally:
                # what is queued (room_closed, left) goes out first, briefly; then the
                # writer stops, also when this handler is cancelled (server shutdown)
                try:
                    self._out.put_nowait(None)
                    await asyncio.wait({writer}, timeout=FLUSH_S)
                except asyncio.QueueFull:
                    pass
                finally:
                    writer.cancel()
            await asyncio.gather(writer, return_exceptions=True)
            if not self.ws.closed:
                await self.ws.close()

    async def _write(self) -> None:
        while True:
            text = await self._out.get()
            if text is None:
                return
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return

    def send(self, message: m.ServerMessage) -> None:
        if self._closing and not isinstance(message, (m.RoomClosedMessage, m.Rejoin, m.Left)):
            return
        try:
            self._out.put_nowait(message.to_json())
        except asyncio.QueueFull:
            log.warning("client too slow, disconnecting")
            self._closing = True
            asyncio.ensure_future(self.ws.close())

    def _within_rate(self) -> bool:
        return self._rate.spend()

    async def _handle_text(self, text: str) -> None:
        ref = None
        if not self._within_rate():
            BAD_INPUT_LOG.warning("rate", "signalling: client over its message rate")
            self.send(m.Error("rate_limited", "too many messages"))
            return
        try:
            message = m.parse_client_message(text)
            ref = message.id
            await self._dispatch(message)
        except m.ProtocolError as exc:
            BAD_INPUT_LOG.warning(exc.code, "signalling: %s", exc.message)
            self.send(m.Error(exc.code, exc.message, exc.ref or ref))
        except NegotiationError as exc:
            BAD_INPUT_LOG.warning("negotiation", "signalling: negotiation failed: %s", str(exc)[:200])
            self.send(m.Error("negotiation_failed", str(exc)[:200], ref))
        except Exception as exc:  # hostile input reaches aiortc parsers: never kill the loop
            BAD_INPUT_LOG.warning("internal", "signalling: request failed: %r", exc)
            self.send(m.Error("failed", exc.__class__.__name__, ref))

    async def _dispatch(self, message: m.ClientMessage) -> None:
        if isinstance(message, m.Join):
            return await self._join(message)
        if self.participant is None:
            raise m.ProtocolError("not_joined", "send join first", message.id)
        if isinstance(message, m.Offer):
            if message.pc != "publish":
                raise m.ProtocolError("bad_message", "the client offers on the publish PC only", message.id)
            answer = await self.participant.publish(message.sdp)
            self.send(m.ServerAnswer("publish", answer, message.id))
        elif isinstance(message, m.Answer):
            if message.pc != "subscribe":
                raise m.ProtocolError("bad_message", "the client answers on the subscribe PC only", message.id)
            self.participant.subscribe_answer(message.sdp)
        elif isinstance(message, m.Candidate):
            if message.pc not in ("publish", "subscribe"):
                raise m.ProtocolError("bad_message", "pc is publish or subscribe", message.id)
            await self.participant.add_ice_candidate(message.pc, message.candidate, message.sdp_mid,
                                                     message.sdp_mline_index)
        elif isinstance(message, m.Mute):
            if message.kind not in ("audio", "video"):
                raise m.ProtocolError("bad_message", "kind is audio or video", message.id)
            self.participant.set_muted(message.kind, message.muted)
            self._broadcast(m.MuteState(self.participant.id, message.kind, message.muted), others=True)
        elif isinstance(message, m.PresentationCommand):
            await self._presentation(message)
        elif isinstance(message, m.Ping):
            self.send(m.Pong(message.id, self.participant.receiving()))
        elif isinstance(message, m.Leave):
            self.send(m.Left(message.id))
            self._closing = True

    # --- join / leave ---------------------------------------------------------------------

    async def _join(self, message: m.Join) -> None:
        if self.participant is not None:
            raise m.ProtocolError("already_joined", "already joined", message.id)
        grant = self.directory.grant(message.token)
        entry = self.directory.entry(grant.room_id) if grant else None
        if grant is None or entry is None:
            raise m.ProtocolError("bad_token", "unknown or expired token", message.id)
        previous = entry.by_token.get(message.token)
        if previous is not None:  # a reconnect replaces the old connection
            await previous.close_for_room("replaced")
        self.grant, self.token, self.entry = grant, message.token, entry
        self._rate = entry.budgets.setdefault(message.token, MessageBudget())
        name = grant.display_name or message.display_name.strip()[:80] or grant.role
        participant = entry.room.add_participant(name, {"role": grant.role})
        self.participant, self.room = participant, entry.room
        entry.sessions[participant.id] = self
        entry.by_token[message.token] = self
        participant.on("subscribe_offer", self._on_subscribe_offer)
        others = [(s, s.participant, s.grant) for s in entry.sessions.values() if s is not self]
        pres = entry.presentation
        self.send(m.Joined(
            participant.id, entry.room.id, grant.role, name,
            [{"participant_id": p.id, "display_name": p.display_name, "role": g.role, "muted": dict(p.muted)}
             for _, p, g in others if p is not None and g is not None],
            _state_dict(pres) if pres else None,
            [{"id": d.id, "title": d.title} for d in entry.documents], message.id, self.ice_servers))
        self._broadcast(m.ParticipantJoined(participant.id, name, grant.role), others=True)
        self.directory._joined(entry, self.event(participant))

    def _on_subscribe_offer(self, sdp: str, tracks: list[dict]) -> None:
        current = {t["consumer_id"]: t for t in tracks}
        for cid, t in list(self._announced.items()):
            if cid not in current:
                self.send(m.TrackRemoved(cid, t["mid"]))
                del self._announced[cid]
        for cid, t in current.items():
            if cid not in self._announced:
                self.send(m.TrackAdded(**t))
                self._announced[cid] = t
        self.send(m.ServerOffer("subscribe", sdp, tracks))

    async def _presentation(self, message: m.PresentationCommand) -> None:
        grant, _, entry = self._membership()
        if grant.role != RoomRole.AGENT:
            raise m.ProtocolError("forbidden", "only the agent controls the presentation", message.id)
        pres = entry.presentation
        if pres is None:
            raise m.ProtocolError("no_presentation", "this room has no presentation", message.id)
        if message.command == "next":
            await pres.next()
        elif message.command == "previous":
            await pres.previous()
        elif message.command == "goto":
            if message.page is None:
                raise m.ProtocolError("bad_message", "goto needs page", message.id)
            await pres.goto(message.page)
        elif message.command == "switch":
            if message.document_id is None or message.document_id not in pres.documents:
                raise m.ProtocolError("bad_message", "unknown document", message.id)
            await pres.switch(message.document_id)
        else:
            raise m.ProtocolError("bad_message", "command is next, previous, goto or switch", message.id)
        self._broadcast(m.PresentationStateMessage(**_state_dict(pres)), others=False)

    def _broadcast(self, message: m.ServerMessage, others: bool) -> None:
        _, _, entry = self._membership()
        for session in list(entry.sessions.values()):
            if not (others and session is self):
                session.send(message)

    async def _leave(self) -> None:
        participant = self.participant
        if participant is None:
            return
        _, token, entry = self._membership()
        self.participant = None
        entry.sessions.pop(participant.id, None)
        if entry.by_token.get(token) is self:
            del entry.by_token[token]
        event = self.event(participant)
        # Tell the others and the call logic before the first await: when the
        # handler is being cancelled (a server that cancels handlers on
        # disconnect), nothing after an await is guaranteed to run.
        for session in list(entry.sessions.values()):
            session.send(m.ParticipantLeft(participant.id))
        self.directory.emit("participant_left", event)
        # ...and let the media teardown finish even then.
        await asyncio.shield(self.room.remove_participant(participant.id))

    async def close_for_room(self, reason: str) -> None:
        """The room closed (or this token rejoined elsewhere): say why, close."""
        await self._close_with(m.RoomClosedMessage(reason))

    async def close_for_rejoin(self, reason: str) -> None:
        """The room's media moved: the client is to join again (same token), now."""
        await self._close_with(m.Rejoin(reason))

    async def _close_with(self, message: m.ServerMessage) -> None:
        self.send(message)
        self._closing = True
        await self._leave()
        await asyncio.sleep(0)  # let the writer flush
        try:
            await asyncio.wait_for(self._drain(), FLUSH_S)
        except asyncio.TimeoutError:
            pass
        await self.ws.close()

    async def _drain(self) -> None:
        while not self._out.empty():
            await asyncio.sleep(0.01)


def _state_dict(pres) -> dict:
    s = pres.state
    return {"document_id": s.document_id, "title": s.title, "page": s.page, "page_count": s.page_count}
