"""The outbox worker: delivers queued mails, SMS and webhooks with retries.

Producers write outbox rows inside their own transaction (``mail.queue_mail``,
``sms.queue_sms``, ``webhook_delivery.queue_webhook``) and, after the commit,
call ``OutboxWorker.wake()`` to deliver at once; otherwise the worker finds
due rows by polling. One loop per kind, so a slow webhook target never holds
up a mail.

Delivery guarantee: at least once. A row is claimed (claim token + lease) in
one transaction, sent, and the outcome is written in the next transaction
right after the peer answered. A kill -9 between the peer's acceptance and
that write (a few milliseconds) sends the item once more after the restart;
everything confirmed is never sent again, and everything not confirmed is
sent again (``release_claims`` at start on SQLite, one process per
database; on PostgreSQL, shared by several nodes, when the claim's lease
ends). Several nodes drain one outbox together: each claims rows with
``FOR UPDATE SKIP LOCKED``, so every row is attempted by one node.
Webhook receivers can drop such a duplicate by its stable ``webhook-id``,
mail clients by the Message-ID.

Retries: exponential backoff with "equal jitter" (50..100 % of
base * 2**(attempts-1), capped), until the kind's retry window is over,
then the row is ``failed``. The clock is injected (``now``) so tests drive
backoffs without sleeping.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable, Protocol

from ...config import Settings
from ...store import Database
from ...store import outbox as outbox_store
from ...store.outbox import OutboxItem, parse_iso
from ...values import OutboxKind
from .delivery import DeliveryResult, Sender, describe

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class RetryPolicy:
    """How one kind is retried."""

    base_s: float
    """delay after the first failed attempt (before jitter)"""
    cap_s: float
    """longest delay between two attempts"""
    window_s: float
    """give up (state failed) when the next attempt would start later than created_at + window"""
    concurrency: int
    """attempts of this kind running at the same time"""

    def delay(self, attempts: int, rand: float) -> float:
        """Seconds until the next attempt after ``attempts`` failed ones (rand in [0, 1])."""
        raw = min(self.cap_s, self.base_s * 2 ** max(0, attempts - 1))
        return raw * (0.5 + 0.5 * rand)


HOUR = 3600.0
POLICIES: dict[str, RetryPolicy] = {
    OutboxKind.EMAIL: RetryPolicy(base_s=30, cap_s=HOUR, window_s=48 * HOUR, concurrency=2),
    OutboxKind.SMS: RetryPolicy(base_s=30, cap_s=HOUR, window_s=48 * HOUR, concurrency=4),
    OutboxKind.WEBHOOK: RetryPolicy(base_s=15, cap_s=2 * HOUR, window_s=72 * HOUR, concurrency=8),
}
LEASE = timedelta(minutes=5)
"""a claim older than this is due again even without a restart (longer than any attempt's timeout)"""
DRAIN_SECONDS = 10.0
"""how long a stop waits for the deliveries due at that moment"""


class SenderSource(Protocol):
    """Makes the sender of every kind at the worker's start and releases what
    they share (an HTTP session) at its stop (``vidzzle_media/senders.py``)."""

    async def open(self) -> dict[str, Sender]: ...
    async def close(self) -> None: ...


class OutboxWorker:
    """Claims due outbox rows and hands them to the sender of their kind.

    ``sender_source`` makes the sender of every kind at start (the composition
    root passes ``senders.OutboxSenders``); ``senders`` gives them directly (tests);
    with neither there is nothing to deliver. ``now`` is the
    clock used for due times, backoffs and webhook timestamps; ``rand`` the
    jitter source.
    """

    def __init__(self, db: Database, settings: Settings, *, now: Clock = utc_now,
                 rand: Callable[[], float] = random.random, senders: dict[str, Sender] | None = None,
                 sender_source: SenderSource | None = None,
                 poll_interval_s: float = 5.0, batch: int = 20, policies: dict[str, RetryPolicy] | None = None):
        self.db = db
        self.settings = settings
        self.now = now
        self.rand = rand
        self.senders: dict[str, Sender] = dict(senders) if senders is not None else {}
        self._source = sender_source
        self.poll_interval_s = poll_interval_s
        self.batch = batch
        self.policies = dict(POLICIES, **(policies or {}))
        self._wakeups: dict[str, asyncio.Event] = {}
        self._tasks: list[asyncio.Task] = []
        #: set by stop(): loops deliver what is due now, then end
        self._draining = False

    async def start(self, *, run_loops: bool = True) -> None:
        """Release claims left by a killed process, build senders, start one loop per kind.

        Only a store of one process releases at start: on a store several
        nodes share (PostgreSQL) another node may be sending those items
        right now, so a dead node's claims come back when their lease ends."""
        if not self.db.shared:
            released = await outbox_store.release_claims(self.db, self.now())
            if released:
                log.warning("outbox: %d item(s) claimed by a previous run are due again", released)
        if self._source is not None:
            self.senders = await self._source.open()
        if run_loops:
            for kind in self.senders:
                self._wakeups[kind] = asyncio.Event()
                self._tasks.append(asyncio.create_task(self._loop(kind), name=f"outbox-{kind}"))

    async def stop(self, drain_s: float = DRAIN_SECONDS) -> None:
        """Flush, then stop: each loop delivers what is due now (e.g. the end
        webhooks of calls closed by the shutdown) for at most ``drain_s``;
        an attempt cut short after that stays claimed and is retried at the
        next start."""
        self._draining = True
        self.wake()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=drain_s)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self._source is not None:
            await self._source.close()

    def wake(self) -> None:
        """Deliver what is due now (call after committing new outbox rows)."""
        for event in self._wakeups.values():
            event.set()

    async def deliver_due(self, kind: str | None = None) -> int:
        """Attempt every due item (of one kind or all kinds with a sender); returns the number attempted."""
        kinds = [kind] if kind else list(self.senders)
        total = 0
        for one in kinds:
            if one not in self.senders:
                continue
            while True:
                token = uuid.uuid4().hex
                now = self.now()
                items = await outbox_store.claim_due(self.db, kind=one, now=now, lease_until=now + LEASE,
                                                     token=token, limit=self.batch)
                if not items:
                    break
                limit = asyncio.Semaphore(self.policies[one].concurrency)

                async def bounded(item: OutboxItem, limit: asyncio.Semaphore = limit, token: str = token) -> None:
                    async with limit:
                        await self._attempt(item, token)

                await asyncio.gather(*(bounded(item) for item in items))
                total += len(items)
        return total

    async def _attempt(self, item: OutboxItem, token: str) -> None:
        sender = self.senders[item.kind]
        started = time.monotonic()
        try:
            result = await sender.deliver(item, self.now())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a sender bug must not stop the loop; it is recorded as a failure
            log.exception("outbox %d: sender raised", item.id)
            result = DeliveryResult(ok=False, error=describe(exc))
        duration_ms = int((time.monotonic() - started) * 1000)
        now = self.now()
        next_at = None if result.ok else self._next_attempt(item, result, now)
        confirmed = await outbox_store.confirm(
            self.db, item_id=item.id, token=token, now=now, ok=result.ok, status=result.status,
            error=result.error, duration_ms=duration_ms, next_attempt_at=next_at)
        if not confirmed:
            log.warning("outbox %d: claim lost before confirmation (lease expired?)", item.id)
        elif result.ok:
            log.info("outbox %d (%s) sent after %d attempt(s)", item.id, item.kind, item.attempts + 1)
        elif next_at is None:
            log.error("outbox %d (%s) failed for good: %s", item.id, item.kind, result.error)
        else:
            log.warning("outbox %d (%s) attempt %d failed (%s); next at %s", item.id, item.kind,
                        item.attempts + 1, result.error or result.status, next_at.isoformat())

    def _next_attempt(self, item: OutboxItem, result: DeliveryResult, now: datetime) -> datetime | None:
        if result.permanent:
            return None
        policy = self.policies[item.kind]
        deadline = (parse_iso(item.retry_until) if item.retry_until
                    else parse_iso(item.created_at) + timedelta(seconds=policy.window_s))
        next_at = now + timedelta(seconds=policy.delay(item.attempts + 1, self.rand()))
        return next_at if next_at <= deadline else None

    async def _loop(self, kind: str) -> None:
        event = self._wakeups[kind]
        while True:
            event.clear()
            try:
                if await self.deliver_due(kind):
                    continue
                if self._draining:
                    return
                wait = await self._seconds_until_due(kind)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox %s loop failed; retrying", kind)
                wait = self.poll_interval_s
            try:
                await asyncio.wait_for(event.wait(), timeout=wait)
            except asyncio.TimeoutError:
                pass

    async def _seconds_until_due(self, kind: str) -> float:
        due = await outbox_store.next_due(self.db, [kind])
        if due is None:
            return self.poll_interval_s
        seconds = (parse_iso(due) - self.now()).total_seconds()
        return min(self.poll_interval_s, max(0.05, seconds))


@dataclass
class OutboxEntry:
    """One outbox row for support's back-office outbox page (no secrets, no message bodies)."""

    id: int
    tenant_id: int | None
    kind: str
    recipient: str
    summary: str
    """mail subject, SMS text or webhook event"""
    state: str
    attempts: int
    next_attempt_at: str
    last_error: str
    created_at: str
    sent_at: str | None


def _summary(item: OutboxItem) -> str:
    if item.kind == OutboxKind.EMAIL:
        return item.payload.get("subject", "")
    if item.kind == OutboxKind.SMS:
        return item.payload.get("text", "")
    return item.payload.get("event", "")


async def list_items(db: Database, kind: str | None = None, state: str | None = None, limit: int = 200,
                     *, tenant_id: int | None = None) -> list[OutboxEntry]:
    """Outbox rows newest first, optionally filtered by kind ('email'/'mail', 'sms', 'webhook') and state."""
    if kind == "mail":
        kind = OutboxKind.EMAIL
    if kind is not None and kind not in outbox_store.KINDS:
        raise ValueError(f"unknown outbox kind {kind!r}")
    if state is not None and state not in outbox_store.STATES:
        raise ValueError(f"unknown outbox state {state!r}")
    items = await outbox_store.list_items(db, kind=kind, state=state, tenant_id=tenant_id, limit=limit)
    return [
        OutboxEntry(id=i.id, tenant_id=i.tenant_id, kind=i.kind, recipient=i.recipient, summary=_summary(i),
                    state=i.state, attempts=i.attempts, next_attempt_at=i.next_attempt_at,
                    last_error=i.last_error, created_at=i.created_at, sent_at=i.sent_at)
        for i in items
    ]


async def depth(db: Database) -> dict[str, int]:
    """Queued (not yet sent, not failed) rows per kind, for metrics."""
    return await outbox_store.depth(db)


async def retry(db: Database, item_id: int, *, now: datetime | None = None) -> bool:
    """Support's "send again" for a failed or waiting row: due now, with a fresh retry window."""
    now = now or utc_now()
    item = await outbox_store.get(db, item_id)
    if item is None:
        return False
    window = timedelta(seconds=POLICIES[item.kind].window_s)
    return await outbox_store.requeue(db, item_id=item_id, now=now, retry_until=now + window)
