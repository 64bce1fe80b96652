"""What a waiting customer is told (issue 15 item 3): how long they have
waited, how much longer it will probably take, their place in the line
and who they are waiting for.

The estimate is honest or absent: it is the median answer time of this
flow's recent calls *that were still unanswered after as long as this
customer has waited*, minus that wait. A customer who has waited 40 s is
not promised the 20 s that the quick calls took. With fewer than
MIN_HISTORY such calls there is no number at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from ...store import Database
from ...store import calls as store
from ...store.calls import CallRow

MIN_HISTORY = 5
"""Answered calls (slower than this customer's wait so far) needed before an estimate is shown."""
HISTORY = 50
"""The most recent answered calls of the flow considered."""
HISTORY_DAYS = 30


def remaining_s(answer_times: list[float], waited_s: float) -> int | None:
    """The estimated seconds still to wait, or None without enough history."""
    slower = [t for t in answer_times if t > waited_s]
    if len(slower) < MIN_HISTORY:
        return None
    return max(1, round(median(slower) - waited_s))


@dataclass(frozen=True)
class Waiting:
    """The ringing call's waiting view."""

    waited_s: int
    estimate_s: int | None
    """Probably still this long; None: not enough history to say."""
    position: int
    """1: next in line among the flow's ringing calls (oldest first)."""
    waiting: int
    """Customers waiting for this flow now, this one included."""
    dealer: str
    """The tenant's name."""
    group: str
    """The name of the first group rung."""
    picture: bool
    """That group has a picture (GET /api/calls/{id}/picture)."""

    def as_dict(self) -> dict[str, object]:
        return {"waited_s": self.waited_s, "estimate_s": self.estimate_s, "position": self.position,
                "waiting": self.waiting, "dealer": self.dealer, "group": self.group, "picture": self.picture}


async def waiting(db: Database, call: CallRow, now: datetime) -> Waiting:
    created = datetime.fromisoformat(call.created_at)
    waited = max(0.0, (now - created).total_seconds())
    times = [] if call.flow_id is None else await store.answer_times(
        db, call.flow_id, (now - timedelta(days=HISTORY_DAYS)).isoformat(), HISTORY)
    ahead, total = await store.queue_place(db, call)
    who = await store.waiting_for(db, call)
    return Waiting(round(waited), remaining_s(times, waited), ahead + 1, total, who.dealer, who.group, who.picture)
