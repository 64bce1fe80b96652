"""The clock routing runs on: the event loop in production, a manual clock in tests.

Injecting the clock is what lets escalation tests jump 240 s in microseconds
while running the same timer code as production.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import datetime, timedelta, timezone
from typing import Callable, Protocol


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """What the dispatcher needs from time."""

    def time(self) -> float:
        """Monotonic seconds (only differences matter)."""

    def now(self) -> datetime:
        """The current instant, aware UTC (for records and business hours)."""

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        """Run ``callback`` once ``time()`` reaches ``when``."""


class LoopClock:
    """Production clock: asyncio's monotonic loop time and the system wall clock."""

    def time(self) -> float:
        return asyncio.get_running_loop().time()

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        return asyncio.get_running_loop().call_at(when, callback)


class _ManualTimer:
    def __init__(self, when: float, seq: int, callback: Callable[[], None]):
        self.when, self.seq, self.callback, self.cancelled = when, seq, callback, False

    def __lt__(self, other: "_ManualTimer") -> bool:
        return (self.when, self.seq) < (other.when, other.seq)

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """Test clock: time stands still until ``advance()`` moves it.

    ``advance`` fires due timers in order, each at its exact time, and lets
    the tasks they start run before moving on.
    """

    def __init__(self, start: datetime | None = None):
        self._t = 0.0
        self._start = start or datetime(2026, 3, 2, 10, 0, tzinfo=timezone.utc)
        self._timers: list[_ManualTimer] = []
        self._seq = itertools.count()

    def time(self) -> float:
        return self._t

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._t)

    def set_now(self, at: datetime) -> None:
        """Move the wall clock without firing timers (for business-hours tests)."""
        self._start = at - timedelta(seconds=self._t)

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        timer = _ManualTimer(when, next(self._seq), callback)
        heapq.heappush(self._timers, timer)
        return timer

    async def advance(self, seconds: float) -> None:
        target = self._t + seconds
        while True:
            await _drain()
            while self._timers and self._timers[0].cancelled:
                heapq.heappop(self._timers)
            if not self._timers or self._timers[0].when > target:
                break
            timer = heapq.heappop(self._timers)
            self._t = max(self._t, timer.when)
            timer.callback()
        self._t = target
        await _drain()


async def _drain(rounds: int = 20) -> None:
    """Let freshly scheduled tasks run a few steps."""
    for _ in range(rounds):
        await asyncio.sleep(0)
