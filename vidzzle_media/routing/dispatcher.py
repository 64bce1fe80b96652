"""Live ringing: runs the ring plan of every ringing call on the clock.

The dispatcher only knows time and plans. What "ringing a row" or
"escalating" means (pushing to agents, mails, the call record) is the
handler's business (services/calls.py); first-accept-wins lives in the store
(an atomic compare-and-set), so the dispatcher never decides a winner; it is
told to ``stop`` a call once it was accepted, abandoned or ended.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Coroutine, Protocol

from .clock import Clock, TimerHandle
from .plan import RingPlan

log = logging.getLogger(__name__)


class RingHandler(Protocol):
    async def ring_rows(self, call_id: str, rows: list[int]) -> None:
        """Rows (indices into the plan) that start ringing now."""

    async def escalate(self, call_id: str) -> None:
        """The last row passed unanswered."""


@dataclass
class _LiveCall:
    plan: RingPlan
    started: float
    announced: set[int] = field(default_factory=set)
    timer: TimerHandle | None = None


class Dispatcher:
    """Timers of all ringing calls of the process."""

    def __init__(self, clock: Clock, handler: RingHandler):
        self.clock = clock
        self.handler = handler
        self._calls: dict[str, _LiveCall] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, call_id: str, plan: RingPlan) -> None:
        """Start ringing: row 0 now, the others at their boundaries."""
        self._calls[call_id] = _LiveCall(plan, self.clock.time())
        self._step(call_id, 0.0)

    def stop(self, call_id: str) -> bool:
        """Stop the timers of a call; False when it was not ringing here."""
        live = self._calls.pop(call_id, None)
        if live is None:
            return False
        if live.timer is not None:
            live.timer.cancel()
        return True

    def skip(self, call_id: str) -> bool:
        """Nobody in the rows ringing now can answer: the next row starts now
        (the rest of the plan moves up by the time saved), or, after the last
        row, the call escalates now. False when the call is not ringing here."""
        live = self._calls.get(call_id)
        if live is None:
            return False
        elapsed = self.clock.time() - live.started
        following = live.plan.next_change(elapsed)
        if following is None:
            return False
        if live.timer is not None:
            live.timer.cancel()
            live.timer = None
        live.started -= following - elapsed
        self._step(call_id, following)
        return True

    def is_ringing(self, call_id: str) -> bool:
        return call_id in self._calls

    def rows_ringing(self, call_id: str) -> list[int]:
        live = self._calls.get(call_id)
        if live is None:
            return []
        return live.plan.rows_ringing(self.clock.time() - live.started)

    def _step(self, call_id: str, boundary: float) -> None:
        live = self._calls.get(call_id)
        if live is None:
            return
        # the timer fired at exactly `boundary`; float subtraction may land a hair before it
        elapsed = max(self.clock.time() - live.started, boundary)
        if live.plan.escalated(elapsed):
            self._calls.pop(call_id, None)
            self._spawn(self.handler.escalate(call_id))
            return
        new_rows = [i for i in live.plan.rows_ringing(elapsed) if i not in live.announced]
        if new_rows:
            live.announced.update(new_rows)
            self._spawn(self.handler.ring_rows(call_id, new_rows))
        following = live.plan.next_change(elapsed)
        if following is not None:
            live.timer = self.clock.call_at(live.started + following, lambda: self._step(call_id, following))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("ring handler failed", exc_info=task.exception())

    async def settle(self) -> None:
        """Wait until every handler call started so far has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Stop all timers and wait for running handlers (app shutdown)."""
        for call_id in list(self._calls):
            self.stop(call_id)
        await self.settle()
