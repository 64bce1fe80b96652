"""The life of an incoming call (R-CALL-1..5, 7).

start -> (out_of_hours | ringing) -> accepted -> ended, or ringing -> missed
(escalated) / abandoned. Every change is a compare-and-set in store/calls.py
plus a domain event (events.py) written in the SAME transaction as the
outbox deliveries it causes (notification mails/SMS, webhooks); pushes to
agents' browsers and room operations happen after the commit. Timers belong
to routing.Dispatcher, which calls back ``ring_rows`` and ``escalate``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Protocol

from ... import events
from ... import nodes as cluster
from ...config import Settings
from ...errors import AppError, Conflict, Forbidden, Gone, NotFound, TooManyRequests, error_for
from ...i18n import current_language, gettext, set_language
from ...nodes import home_node
from ...routing.clock import Clock, LoopClock, TimerHandle
from ...routing.closures import FlowCalendar, Openness, exceptions_from_json
from ...routing.dispatcher import Dispatcher
from ...routing.hours import WeekHours
from ...routing.plan import PlanRow, RingPlan
from ...store import Database
from ...store import callbacks as callback_store
from ...store import calls as store
from ...store import flows as flow_store
from ...store import groups as group_store
from ...store.calls import CallRow
from ...values import CallState, Direction, MissReason, RoomRole
from ..accounts import tokens
from ..tenancy.webhook_settings import queue_call_webhook
from . import agent_messages, callbacks
from .agent_messages import AGENT_CALL_PATH
from .notify import TOKEN_PURPOSE, notify_member, presentation_documents
from .presence import Presence
from .room_port import RoomDirectory
from .waiting import waiting

log = logging.getLogger(__name__)

MAX_CUSTOMER_NAME = 80
CUSTOMER_REJOIN_GRACE_S = 15.0
"""Seconds a ringing call survives its customer's room connection dropping.

A dropped socket is not a decision to leave (a network blip, the page's
automatic re-join, a replaced connection): a join with the same room token
within this time keeps the call ringing. Only an explicit leave
(POST /api/calls/{id}/leave: cancel, hang up, the unload beacon) or the grace
running out abandons it. At least the client's 10 s of re-join attempts."""


READY_WAIT_S = 3.0
"""How long ``ready`` waits for the customer's media to reach the server before answering 409."""
MEDIA_PROBLEMS = ("permission_denied", "no_device", "device_busy", "network", "other")
"""Why a customer's pre-ring check failed (the page says which; the call's events keep it;
"timeout" when it did not pass within PRECHECK_TIMEOUT_S)."""
PRECHECK_TIMEOUT_S = 180.0
"""A customer's pre-ring check that has not passed after this long ends the call (customer_media_failed)."""


class Agent(Protocol):
    """Who accepts: admin.auth.CurrentUser fits."""

    id: int
    tenant_id: int | None
    name: str
    email: str


@dataclass
class StartResult:
    """What the customer gets back from starting a call."""

    state: str
    """'ringing' or 'out_of_hours'."""
    call_id: str
    out_of_hours_url: str = ""
    callback_offer: bool = False
    """Out of hours: the flow offers "We'll call you back" (POST .../callback with the customer key)."""
    customer_key: str = ""
    """Secret proving the customer in status/leave requests."""
    room_id: str = ""
    room_token: str = ""


@dataclass
class AcceptResult:
    """What the winning agent gets."""

    call_id: str
    room_id: str
    room_token: str
    agent_path: str
    """Back-office page of the call: /admin/call/<id>."""


@dataclass
class _Live:
    plan: RingPlan
    tenant_id: int
    flow_name: str
    customer_name: str
    address: str = ""
    """Where the customer's request came from (the per-address limit)."""
    ring_busy: bool = False
    """The flow rings agents who are in a call already."""
    checking: bool = False
    """The customer's pre-ring check has not passed yet: nobody rings."""
    check_timer: TimerHandle | None = None
    """Ends a check that never passes (PRECHECK_TIMEOUT_S)."""


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="milliseconds")


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def customer_state(call: CallRow) -> dict[str, Any]:
    """The public status of R-CALL for the customer's page."""
    state = "escalated" if call.state == CallState.MISSED else str(call.state)
    result: dict[str, Any] = {"call_id": call.id, "state": state}
    if call.state == CallState.MISSED:
        result["redirect_url"] = call.escalation_url
    elif call.state == CallState.ENDED:
        result["redirect_url"] = call.exit_url
    elif call.state == CallState.ACCEPTED:
        result["agent_name"] = call.agent_name
    return result


def miss_reason(rings: dict[int, store.Ring]) -> MissReason:
    """Why a call whose rows ran out was missed, from how it rang each agent."""
    if any(ring.can_answer for ring in rings.values()):
        return MissReason.RANG_UNANSWERED
    if any(ring.declined for ring in rings.values()):
        return MissReason.ALL_DECLINED
    return MissReason.NO_AGENT_AVAILABLE


class CallService:
    """Owns the dispatcher and every state change of calls."""

    def __init__(self, db: Database, settings: Settings, presence: Presence, *, clock: Clock | None = None,
                 rooms: RoomDirectory | None = None, wake: Callable[[], None] | None = None):
        self.db = db
        self.settings = settings
        self.presence = presence
        self.clock = clock or LoopClock()
        self.rooms = rooms
        self.wake = wake or (lambda: None)
        self.dispatcher = Dispatcher(self.clock, self)
        self._sweeper: asyncio.Task[None] | None = None
        self._live: dict[str, _Live] = {}
        self._tasks: set[asyncio.Task] = set()
        #: room id -> grace timer of a customer whose connection dropped
        self._away: dict[str, TimerHandle] = {}
        #: what a customer's page asks of its call (``_for_customer``)
        self._customer_ops: dict[str, Callable[..., Awaitable[dict[str, Any]]]] = {
            "status": self._status, "ready": self._ready, "leave": self._leave}
        #: set by shutdown(): rooms now close because the process stops, not because people left
        self.stopping = False
        if presence.nodes is not None:
            presence.nodes.on("call", self._home_message)
            presence.nodes.answer("customer", self._answer_customer)

    def track(self, coro) -> asyncio.Task:
        """Run a room-event reaction as a task the service awaits on close
        (so it never outlives the database)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def set_clock(self, clock: Clock) -> None:
        """Swap the clock (tests inject a ManualClock) while no call is ringing."""
        assert not self._live, "cannot change the clock of ringing calls"
        self.clock = clock
        self.dispatcher = Dispatcher(clock, self)

    def _now(self) -> tuple[datetime, str]:
        now = self.clock.now()
        return now, _iso(now)

    # -- customer side ------------------------------------------------------

    async def start_incoming(self, embed_id: str, customer_name: str, base_url: str, address: str = "",
                             precheck: bool = False) -> StartResult:
        """R-CALL-1/2: out of hours -> record only; else room + ringing.

        ``precheck``: the customer's page checks camera, microphone and that
        its media reaches the server first; agents ring only from ``ready``.

        Each ringing call holds a room: a tenant and a customer address may
        have only so many at once (security.ringing_calls_per_*), so a burst
        from the internet cannot fill the server's memory."""
        flow = await flow_store.get_by_embed_id(self.db, embed_id) if embed_id else None
        if flow is None:
            raise NotFound(gettext("Unknown call button: this embed id does not exist (any more)."))
        limits = self.settings.security
        if sum(1 for live in self._live.values() if live.tenant_id == flow.tenant_id) >= limits.ringing_calls_per_tenant \
                or address and sum(1 for live in self._live.values() if live.address == address) \
                >= limits.ringing_calls_per_address:
            raise TooManyRequests(gettext("Too many calls are waiting right now. Please try again in a minute."),
                                  retry_after=30)
        name = " ".join(str(customer_name or "").split())[:MAX_CUSTOMER_NAME] or gettext("Customer")
        now, at = self._now()
        key = secrets.token_urlsafe(24)
        call = CallRow(id=str(uuid.uuid4()), tenant_id=flow.tenant_id, flow_id=flow.id, direction=Direction.INCOMING,
                       state=CallState.RINGING, miss_reason="", customer_name=name, customer_key_hash=_hash(key),
                       room_id="", agent_id=None, agent_name="", agent_email="", base_url=base_url,
                       exit_url=flow.exit_url, escalation_url=flow.escalation_url, created_at=at,
                       accepted_at=None, ended_at=None, duration_s=None)
        common: dict[str, Any] = {"call_id": call.id, "tenant_id": call.tenant_id, "at": at}
        created = events.CallCreated(**common, flow_id=flow.id, customer_name=name)
        openness = FlowCalendar(WeekHours.from_pairs(flow.hours), flow.timezone, flow.holiday_region,
                                exceptions_from_json(flow.exceptions)).openness(now)
        if openness != Openness.OPEN:
            call.state = CallState.OUT_OF_HOURS
            call.miss_reason = MissReason.HOLIDAY if openness == Openness.HOLIDAY else MissReason.OUT_OF_HOURS
            async with self.db.transaction() as conn:
                await store.insert_call(conn, call)
                await store.add_event(conn, created)
                await store.add_event(conn, events.CallOutOfHours(**common, flow_id=flow.id))
            log.info("call %s: flow %d closed (%s)", call.id, flow.id, openness)
            if not flow.offer_callback:
                return StartResult(CallState.OUT_OF_HOURS, call.id, out_of_hours_url=flow.out_of_hours_url)
            return StartResult(CallState.OUT_OF_HOURS, call.id, out_of_hours_url=flow.out_of_hours_url,
                               callback_offer=True, customer_key=key)
        plan = RingPlan(tuple(PlanRow(gid, secs) for gid, secs in flow.rows))
        token = ""
        if self.rooms is not None:
            call.room_id = await self.rooms.create_room(await presentation_documents(self.db, flow.tenant_id))
            token = self.rooms.issue_token(call.room_id, RoomRole.CUSTOMER, name)
        async with self.db.transaction() as conn:
            await store.insert_call(conn, call)
            await store.add_event(conn, created)
        self._live[call.id] = _Live(plan, flow.tenant_id, flow.name, name, address, flow.ring_busy_agents,
                                    checking=precheck and self.rooms is not None)
        if self._live[call.id].checking:
            log.info("call %s: flow %d, checking the customer's media before ringing", call.id, flow.id)
            call_id = call.id

            def expired() -> None:
                self.track(self._check_expired(call_id))

            self._live[call.id].check_timer = self.clock.call_at(self.clock.time() + PRECHECK_TIMEOUT_S, expired)
        else:
            self.dispatcher.start(call.id, plan)
            log.info("call %s: ringing flow %d", call.id, flow.id)
        return StartResult(CallState.RINGING, call.id, customer_key=key, room_id=call.room_id, room_token=token)

    async def customer_call(self, call_id: str, key: str) -> CallRow:
        """The call if ``key`` is its customer key; NotFound otherwise (no oracle)."""
        call = await store.get_call(self.db, call_id)
        if call is None or not key or not hmac.compare_digest(call.customer_key_hash, _hash(key)):
            raise NotFound(gettext("No such call."))
        return call

    async def status(self, call_id: str, key: str) -> dict[str, Any]:
        """customer_state, and while it rings the waiting view (services/calls/waiting.py)."""
        return await self._for_customer(await self.customer_call(call_id, key), "status")

    async def _for_customer(self, call: CallRow, op: str, **args: Any) -> dict[str, Any]:
        """What the customer (key checked) asks of their call, answered here,
        or by the call's node when that is another running one: a page that
        reached another node (a phone that changed networks) gets what only
        the call's node knows (whether the pre-ring check passed, whether
        their media arrives). Should that node not answer, this one does."""
        nodes = self.presence.nodes
        if nodes is not None and self._holder(call) == "alive":
            try:
                answer = await nodes.ask(home_node(call.room_id), "customer", op=op, call_id=call.id,
                                         language=current_language(), **args)
            except TimeoutError:
                log.warning("call %s: its node did not answer %s in time: answered here", call.id, op)
            else:
                if "error" in answer:
                    raise error_for(int(answer.get("status", 500)), str(answer["error"]))
                return dict(answer.get("result") or {})
        return await self._customer_ops[op](call, **args)

    async def _answer_customer(self, question: dict[str, Any]) -> dict[str, Any]:
        """Another node's ``_for_customer``, answered as for a page that reached this node."""
        set_language(str(question.get("language") or ""))
        call = await store.get_call(self.db, str(question.get("call_id", "")))
        op = str(question.get("op"))
        if call is None or op not in self._customer_ops:
            return {"error": gettext("No such call."), "status": 404}
        args = {name: question[name] for name in ("audio_only", "media_problem") if name in question}
        try:
            return {"result": await self._customer_ops[op](call, **args)}
        except AppError as exc:
            return {"error": exc.message, "status": exc.status}

    async def _status(self, call: CallRow) -> dict[str, Any]:
        call_id = call.id
        result = customer_state(call)
        if call.state == CallState.RINGING:
            result.update((await waiting(self.db, call, self.clock.now())).as_dict())
            live = self._live.get(call_id)
            result["checking"] = live is not None and live.checking
        elif call.state in callbacks.OFFERED_AFTER and call.flow_id is not None:
            flow = await flow_store.get_flow(self.db, call.tenant_id, call.flow_id)
            if callbacks.offered(call, flow):
                requested = await callback_store.for_call(self.db, call.id) is not None
                result["callback"] = "requested" if requested else "offered"
        return result

    async def request_callback(self, call_id: str, key: str, data: dict[str, Any]) -> dict[str, Any]:
        """The customer of an unserved call asks to be called back (services/calls/callbacks.py)."""
        call = await self.customer_call(call_id, key)
        flow = None if call.flow_id is None else await flow_store.get_flow(self.db, call.tenant_id, call.flow_id)
        if flow is None or not callbacks.offered(call, flow):
            raise Conflict(gettext("A callback cannot be requested for this call."))
        request = callbacks.parse_request(data)
        members = await group_store.members_of(self.db, call.tenant_id, sorted({gid for gid, _ in flow.rows}))
        now, at = self._now()
        async with self.db.transaction() as conn:
            queued = await callbacks.record(conn, call, flow, request, members, at=at, now=now)
        if queued:
            self.wake()
        return await self._status(await store.reread_call(self.db, call_id))

    async def picture(self, call_id: str, key: str) -> bytes:
        """The picture of the group the customer waits for; NotFound without one."""
        call = await self.customer_call(call_id, key)
        group = (await store.waiting_for(self.db, call)).group_id
        picture = None if group is None else await group_store.picture(self.db, call.tenant_id, group)
        if picture is None:
            raise NotFound(gettext("No picture."))
        return picture

    async def ready(self, call_id: str, key: str, audio_only: bool = False) -> dict[str, Any]:
        """The customer's pre-ring check passed on their side: if their media
        reaches the server too (waiting up to READY_WAIT_S for it), agents
        ring from now on. Conflict while it does not (the page retries and,
        after a while, tells the customer their network blocks the call)."""
        return await self._for_customer(await self.customer_call(call_id, key), "ready", audio_only=audio_only)

    async def _ready(self, call: CallRow, audio_only: bool = False) -> dict[str, Any]:
        call_id = call.id
        live = self._live.get(call_id)
        if call.state != CallState.RINGING or live is None or not live.checking:
            return await self._status(call)
        deadline = time.monotonic() + READY_WAIT_S
        while not (self.rooms is not None and self.rooms.media_arriving(call.room_id, RoomRole.CUSTOMER)):
            if time.monotonic() > deadline:
                raise Conflict(gettext("Your camera and microphone do not reach us yet."))
            await asyncio.sleep(0.1)
        if not live.checking or self._live.get(call_id) is not live:
            return await self._status(await store.reread_call(self.db, call_id))   # a second ready, or it ended
        live.checking = False
        if live.check_timer is not None:
            live.check_timer.cancel()
        _, at = self._now()
        async with self.db.transaction() as conn:
            await store.add_event(conn, events.CustomerReady(call_id=call_id, tenant_id=call.tenant_id, at=at,
                                                             audio_only=audio_only))
        self.dispatcher.start(call_id, live.plan)
        log.info("call %s: the customer's media arrives: ringing", call_id)
        return await self._status(await store.reread_call(self.db, call_id))

    async def _check_expired(self, call_id: str) -> None:
        """A pre-ring check that did not pass in PRECHECK_TIMEOUT_S (the customer
        walked away from a blocked camera, say) ends the call instead of
        keeping it, unseen by any agent, forever."""
        live = self._live.get(call_id)
        if live is not None and live.checking and not self.stopping:
            log.info("call %s: the pre-ring check did not pass in %.0f s", call_id, PRECHECK_TIMEOUT_S)
            await self.abandon(call_id, MissReason.CUSTOMER_MEDIA_FAILED, media_problem="timeout")

    async def leave(self, call_id: str, key: str, media_problem: str = "") -> dict[str, Any]:
        """The customer leaves: abandoned while ringing, ended once accepted.
        ``media_problem``: why their pre-ring check failed, if it did
        (MEDIA_PROBLEMS): the call is recorded as customer_media_failed."""
        return await self._for_customer(await self.customer_call(call_id, key), "leave", media_problem=media_problem)

    async def _leave(self, call: CallRow, media_problem: str = "") -> dict[str, Any]:
        call_id = call.id
        if call.state == CallState.RINGING:
            problem = media_problem if media_problem in MEDIA_PROBLEMS else ("other" if media_problem else "")
            await self.abandon(call_id, MissReason.CUSTOMER_MEDIA_FAILED if problem else MissReason.CUSTOMER_CANCELLED,
                               media_problem=problem)
        elif call.state == CallState.ACCEPTED:
            await self.end_call(call_id, by="customer")
        return customer_state(await store.reread_call(self.db, call_id))

    # -- ringing (Dispatcher callbacks) -------------------------------------

    async def ring_rows(self, call_id: str, rows: list[int]) -> None:
        """Ring the members of ``rows`` (an agent in a call only if the flow
        says so). When nobody rung so far can answer (all offline without a
        mail or SMS of the call, busy, or declined), the next row rings at
        once instead of after this one's ring time, and after the last row
        the call escalates at once."""
        live = self._live.get(call_id)
        if live is None:
            return
        members = {i: await group_store.members_of(self.db, live.tenant_id, [live.plan.rows[i].group_id]) for i in rows}
        busy = set() if live.ring_busy else await store.busy_agents(self.db, live.tenant_id)
        now, at = self._now()
        rung_online: list[int] = []
        queued = False
        async with self.db.transaction() as conn:
            call = await store.get_call_in(conn, call_id)
            if call is None or call.state != CallState.RINGING:
                return
            for i in rows:
                newly = []
                for m in members[i]:
                    if m.id in busy:
                        continue
                    online = self.presence.is_online(m.id)
                    if await store.add_ring(conn, call_id, call.tenant_id, m.id, live.plan.rows[i].group_id, i,
                                            online, at):
                        newly.append(m)
                online_ids = [m.id for m in newly if self.presence.is_online(m.id)]
                rung_online += online_ids
                await store.add_event(conn, events.CallRinging(
                    call_id=call_id, tenant_id=call.tenant_id, at=at, row_index=i,
                    group_id=live.plan.rows[i].group_id, user_ids=[m.id for m in newly], online_user_ids=online_ids))
                for m in newly:
                    if await notify_member(conn, self.settings, call, m, now=now):
                        await store.mark_ring_notified(conn, call_id, m.id)
                        queued = True
            answerable = any(ring.can_answer for ring in (await store.rings(conn, call_id)).values())
        if rung_online:
            await self.presence.push(rung_online, agent_messages.Ringing(call_id, live.customer_name, live.flow_name))
        if queued:
            self.wake()
        if not answerable:
            log.info("call %s: nobody in rows %s can answer: next row now", call_id, rows)
            self.dispatcher.skip(call_id)

    async def escalate(self, call_id: str) -> None:
        """R-CALL-3: the last row passed unanswered -> missed (escalated)."""
        self._live.pop(call_id, None)
        rung = await store.rung_users(self.db, call_id)
        reason = miss_reason(await store.rings(self.db, call_id))
        _, at = self._now()
        async with self.db.transaction() as conn:
            call = await store.get_call_in(conn, call_id)
            if call is None or not await store.finish_ringing(conn, call_id, CallState.MISSED, at, reason):
                return
            await store.add_event(conn, events.CallMissed(call_id=call_id, tenant_id=call.tenant_id, at=at,
                                                          reason=reason))
            hook = await queue_call_webhook(conn, await store.reread_call(conn, call_id), "end", now=self.clock.now())
        log.info("call %s: escalated (%s)", call_id, reason)
        if hook:
            self.wake()
        await self.presence.push(rung, agent_messages.Withdrawn(call_id, "escalated"))
        await self._close_room(call, "escalated")

    async def abandon(self, call_id: str, reason: MissReason = MissReason.CUSTOMER_CANCELLED,
                      media_problem: str = "") -> bool:
        """R-CALL-5: the customer left while ringing."""
        self._settle(call_id)
        now, at = self._now()
        async with self.db.transaction() as conn:
            call = await store.get_call_in(conn, call_id)
            if call is None or not await store.finish_ringing(conn, call_id, CallState.ABANDONED, at, reason):
                return False
            waited = round(max(0.0, (now - datetime.fromisoformat(call.created_at)).total_seconds()), 1)
            await store.add_event(conn, events.CallAbandoned(call_id=call_id, tenant_id=call.tenant_id, at=at,
                                                             reason=reason, waited_s=waited,
                                                             media_problem=media_problem))
            hook = await queue_call_webhook(conn, await store.reread_call(conn, call_id), "end", now=self.clock.now())
        log.info("call %s: abandoned by the customer", call_id)
        if hook:
            self.wake()
        rung = await store.rung_users(self.db, call_id)
        await self.presence.push(rung, agent_messages.CustomerLeft(call_id))
        await self._close_room(call, "customer_left")
        return True

    # -- agent side ---------------------------------------------------------

    async def decline(self, call_id: str, agent: Agent) -> None:
        """The agent pressed "Decline": the call stops ringing for them (all
        their tabs) and goes on for the others; when nobody rung can answer
        any more, the next row rings now."""
        await self.agent_call(call_id, agent)
        _, at = self._now()
        async with self.db.transaction() as conn:
            call = await store.reread_call(conn, call_id)
            rings = await store.rings(conn, call_id)
            if agent.id not in rings:
                raise Forbidden(gettext("This call was not offered to you."))
            if call.state != CallState.RINGING:
                raise Gone(gettext("The customer is no longer waiting."))
            if await store.decline(conn, call_id, agent.id, at):
                await store.add_event(conn, events.CallDeclined(call_id=call_id, tenant_id=call.tenant_id, at=at,
                                                                user_id=agent.id))
            answerable = any(ring.can_answer for ring in (await store.rings(conn, call_id)).values())
        log.info("call %s: declined by user %d", call_id, agent.id)
        await self.presence.push([agent.id], agent_messages.Withdrawn(call_id, "declined"))
        if not answerable:
            await self._at_home("skip", call)

    async def accept_from_link(self, token: str, agent: Agent) -> AcceptResult:
        """An agent opened the link of a call notification: the link is for
        them, it is used up, then the call is accepted (as ``accept``)."""
        grant = await tokens.peek(self.db, token, TOKEN_PURPOSE, now=self.clock.now())
        if agent.id != grant.user_id:
            raise Forbidden(gettext("This link was sent to another user. Please log in as that user."))
        async with self.db.transaction() as conn:
            await tokens.consume(conn, token=token, purpose=TOKEN_PURPOSE, now=self.clock.now())
        return await self.accept(grant.subject, agent)

    async def accept(self, call_id: str, agent: Agent) -> AcceptResult:
        """R-CALL-4: the first accept wins (compare-and-set in the store);
        everyone else is told who took it."""
        call = await store.get_call(self.db, call_id)
        if call is None or call.tenant_id != agent.tenant_id:
            raise NotFound(gettext("No such call."))
        rung = await store.rung_users(self.db, call_id)
        if agent.id not in rung:
            raise Forbidden(gettext("This call was not offered to you."))
        _, at = self._now()
        async with self.db.transaction() as conn:
            won = await store.accept(conn, call_id, agent.id, agent.name, agent.email, at)
            if won:
                call = await store.reread_call(conn, call_id)
                await store.add_event(conn, events.CallAccepted(call_id=call_id, tenant_id=call.tenant_id, at=at,
                                                                user_id=agent.id, user_name=agent.name))
                hook = await queue_call_webhook(conn, call, "start", now=self.clock.now())
        if not won:
            call = await store.reread_call(self.db, call_id)
            if call.state == CallState.ACCEPTED and call.agent_id == agent.id:
                return await self._accept_result(call, agent)
            if call.state in (CallState.ACCEPTED, CallState.ENDED):
                raise Conflict(gettext("This call was taken by %(name)s.", name=call.agent_name))
            raise Gone(gettext("The customer is no longer waiting."))
        await self._at_home("settled", call)
        log.info("call %s: accepted by user %d", call_id, agent.id)
        if hook:
            self.wake()
        others = [uid for uid in rung if uid != agent.id]
        await self.presence.push(others, agent_messages.Taken(call_id, agent.name))
        result = await self._accept_result(call, agent)
        await self.presence.push([agent.id], agent_messages.Accepted(call_id, result.agent_path))
        return result

    async def _accept_result(self, call: CallRow, agent: Agent) -> AcceptResult:
        token = ""
        if self.rooms is not None and call.room_id:
            token = self.rooms.issue_token(call.room_id, RoomRole.AGENT, agent.name)
        return AcceptResult(call.id, call.room_id, token, f"{AGENT_CALL_PATH}{call.id}")

    async def agent_call(self, call_id: str, agent: Agent) -> CallRow:
        """A call of the agent's tenant (NotFound for foreign or unknown ids)."""
        call = await store.get_call(self.db, call_id)
        if call is None or call.tenant_id != agent.tenant_id:
            raise NotFound(gettext("No such call."))
        return call

    async def hang_up(self, call_id: str, agent: Agent) -> bool:
        call = await self.agent_call(call_id, agent)
        if call.agent_id != agent.id:
            raise Forbidden(gettext("Only the agent in the call can hang up."))
        return await self.end_call(call_id, by="agent")

    async def end_call(self, call_id: str, *, by: str) -> bool:
        """accepted -> ended with its duration; the end webhook is queued with it."""
        now, at = self._now()
        async with self.db.transaction() as conn:
            call = await store.get_call_in(conn, call_id)
            if call is None or call.state != CallState.ACCEPTED:
                return False
            accepted = datetime.fromisoformat(call.accepted_at or at)
            duration = max(0.0, round((now - accepted).total_seconds(), 3))
            if not await store.end(conn, call_id, at, duration):
                return False
            call = await store.reread_call(conn, call_id)
            await store.add_event(conn, events.CallEnded(call_id=call_id, tenant_id=call.tenant_id, at=at, by=by,
                                                         duration_s=duration))
            hook = await queue_call_webhook(conn, call, "end", now=now)
        log.info("call %s: ended by %s after %.1f s", call_id, by, duration)
        if hook:
            self.wake()
        if call.agent_id:
            await self.presence.push([call.agent_id], agent_messages.Ended(call_id, by))
        if by != "room" and not self.stopping:
            await self._close_room(call, f"ended_by_{by}")
        return True

    # -- presence and rooms ---------------------------------------------------

    async def agent_online(self, user_id: int, tenant_id: int | None) -> None:
        """A user came online: calls ringing for them now ring in the browser too."""
        if tenant_id is None:
            return
        ringing = await store.ringing_for_user(self.db, tenant_id, user_id)
        if not ringing:
            return
        async with self.db.transaction() as conn:
            for call in ringing:
                await store.mark_ring_online(conn, call.id, user_id)
        for call in ringing:    # rung on this node or another: the message comes from the record
            flow = None if call.flow_id is None else await flow_store.get_flow(self.db, tenant_id, call.flow_id)
            message = agent_messages.Ringing(call.id, call.customer_name, flow.name if flow is not None else "")
            await self.presence.push([user_id], message)

    async def on_room_closed(self, room_id: str, reason: str = "") -> None:
        """The SFU closed a room (everyone gone). A shutdown is not the customer
        leaving: shutdown() has closed those calls as 'interrupted'. Nor is a
        room lost with its media worker that could not move (``worker_lost``):
        its call is closed as interrupted too."""
        if reason == "shutdown" or self.stopping:
            return
        call = await store.get_call_by_room(self.db, room_id)
        if call is None:
            return
        lost = reason == "worker_lost"
        if call.state == CallState.RINGING:
            if lost:
                await self._miss_interrupted(call)
            else:
                await self.abandon(call.id)
        elif call.state == CallState.ACCEPTED:
            await self.end_call(call.id, by="interrupted" if lost else "room")
            if lost:
                log.warning("call %s interrupted: its media worker died", call.id)

    async def on_room_moved(self, room_id: str, reason: str) -> None:
        """The room's media died and runs again elsewhere (its clients join
        again by themselves): the call goes on, its record says it was
        interrupted (``CallInterrupted``)."""
        call = await store.get_call_by_room(self.db, room_id)
        if call is None or call.state not in (CallState.RINGING, CallState.ACCEPTED):
            return
        _, at = self._now()
        async with self.db.transaction() as conn:
            await store.add_event(conn, events.CallInterrupted(call_id=call.id, tenant_id=call.tenant_id, at=at,
                                                               reason=reason, state=call.state))
        log.warning("call %s interrupted (%s): its room moved, the call goes on", call.id, reason)

    async def on_participant_left(self, room_id: str, role: str) -> None:
        """A participant's connection left the room. For the customer this
        starts the re-join grace (CUSTOMER_REJOIN_GRACE_S) instead of
        abandoning at once. No await before the bookkeeping: room events run
        as tasks in the order they were emitted, so a re-join's ``joined``
        (emitted right after the replaced connection's ``left``) finds the
        timer."""
        if self.stopping or role != RoomRole.CUSTOMER:
            return
        old = self._away.pop(room_id, None)
        if old is not None:
            old.cancel()
        handle: TimerHandle | None = None

        def expired() -> None:
            if self._away.get(room_id) is handle:
                del self._away[room_id]
                self.track(self._grace_over(room_id))

        handle = self.clock.call_at(self.clock.time() + CUSTOMER_REJOIN_GRACE_S, expired)
        self._away[room_id] = handle

    async def on_participant_joined(self, room_id: str, role: str) -> None:
        """The customer (re-)joined the room: the call goes on ringing."""
        if role == RoomRole.CUSTOMER:
            handle = self._away.pop(room_id, None)
            if handle is not None:
                handle.cancel()
                log.info("room %s: the customer re-joined within the grace period", room_id[:8])

    async def _grace_over(self, room_id: str) -> None:
        """The customer did not come back in time: a still ringing call is abandoned."""
        if self.stopping:
            return
        call = await store.get_call_by_room(self.db, room_id)
        if call is not None and call.state == CallState.RINGING:
            log.info("call %s: the customer did not re-join within %.0f s", call.id, CUSTOMER_REJOIN_GRACE_S)
            await self.abandon(call.id)

    async def _close_room(self, call: CallRow, reason: str) -> None:
        if call.room_id:
            await self._at_home("close_room", call, room_id=call.room_id, reason=reason)

    # -- the call's home node -----------------------------------------------

    async def _at_home(self, action: str, call: CallRow, **data: str) -> None:
        """Do what only the call's home node can (the node its customer
        started it on: it rings the call and holds its room): here, if this
        is it, else by a word to it, when the agent's browser is on another
        node (``vidzzle_media.nodes``; a home that is gone took it along)."""
        message = {"action": action, "call_id": call.id, **data}
        holder = self._holder(call)
        if holder == "here":
            await self._home_message(message)
        elif holder == "alive" and self.presence.nodes is not None:
            await self.presence.nodes.publish("call", to=home_node(call.room_id), **message)

    async def _home_message(self, message: dict[str, Any]) -> None:
        """``settled``: the call stops ringing; ``skip``: its next row rings
        now; ``close_room``: its room closes. A node that is not the call's
        home has nothing of it, and nothing happens."""
        action, call_id = message.get("action"), str(message.get("call_id", ""))
        if action == "settled":
            self._settle(call_id)
        elif action == "skip":
            self.dispatcher.skip(call_id)
        elif action == "close_room" and self.rooms is not None:
            try:
                await self.rooms.close_room(str(message.get("room_id", "")), str(message.get("reason", "")))
            except Exception:   # the record is what matters; a room error must not undo it
                log.exception("call %s: closing room failed", call_id)

    def _settle(self, call_id: str) -> None:
        """The call rings no more: its timers stop."""
        self.dispatcher.stop(call_id)
        live = self._live.pop(call_id, None)
        if live is not None and live.check_timer is not None:
            live.check_timer.cancel()

    async def shutdown(self) -> None:
        """Graceful stop (SIGTERM), before the rooms close: every open call is
        closed as interrupted now, with its events and end webhook, so the
        next start finds nothing left over."""
        self.stopping = True
        await self.dispatcher.close()
        await self._close_open(lambda call: self._holder(call) == "here", "as the server stops")

    def _holder(self, call: CallRow) -> str:
        """"here" when this node holds the call (it rings it, its room is
        here: on a store of its own, every call), "alive" when another
        running node does, "gone" when its node stopped or died, "unknown"
        while this node hears no node at all, not even itself (cut off from
        PostgreSQL's notifications: the others may well be running)."""
        nodes = self.presence.nodes
        if nodes is None or not self.db.shared:
            return "here"
        home = home_node(call.room_id)
        if home in ("", nodes.id):
            return "here"
        if home in nodes.alive():
            return "alive"
        return "gone" if nodes.hearing() else "unknown"

    async def close_unfinished(self) -> None:
        """At start: calls left open by a previous process are closed as
        interrupted (R-OPS-3): ringing -> missed ('interrupted'), accepted ->
        ended (by 'interrupted'); both with their end webhook. On a store
        several nodes share, the calls of a node that is gone are (its
        rooms went with it), as soon as its silence shows and from then on."""
        if self.db.shared and self.presence.nodes is not None:
            self._sweeper = asyncio.ensure_future(self._sweep())
            return
        await self._close_open(lambda call: True, "left open by the previous run")

    async def _sweep(self) -> None:
        await asyncio.sleep(cluster.EXPIRES_S)      # first every running node is heard from
        while True:
            try:
                await self._close_open(lambda call: self._holder(call) == "gone", "of a node that is gone")
            except Exception:
                log.exception("closing the calls of stopped nodes failed")
            await asyncio.sleep(cluster.HEARTBEAT_S)

    async def _close_open(self, closes: Callable[[CallRow], bool], why: str) -> None:
        left = [call for call in await store.open_calls(self.db) if closes(call)]
        for call in left:
            if call.state == CallState.ACCEPTED:
                await self.end_call(call.id, by="interrupted")
            else:
                await self._miss_interrupted(call)
        if left:
            self.wake()
            log.warning("closed %d call(s) %s", len(left), why)

    async def _miss_interrupted(self, call: CallRow) -> None:
        """ringing -> missed ('interrupted'), with its event and end webhook:
        nobody declined or cancelled, the server could not go on."""
        self._settle(call.id)
        _, at = self._now()
        async with self.db.transaction() as conn:
            if await store.finish_ringing(conn, call.id, CallState.MISSED, at, MissReason.INTERRUPTED):
                await store.add_event(conn, events.CallMissed(call_id=call.id, tenant_id=call.tenant_id, at=at,
                                                              reason=MissReason.INTERRUPTED))
                await queue_call_webhook(conn, await store.reread_call(conn, call.id), "end", now=self.clock.now())
        self.wake()
        await self.presence.push(await store.rung_users(self.db, call.id), agent_messages.Withdrawn(call.id, "interrupted"))

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
        for handle in self._away.values():
            handle.cancel()
        for live in self._live.values():
            if live.check_timer is not None:
                live.check_timer.cancel()
        self._away.clear()
        await self.dispatcher.close()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
