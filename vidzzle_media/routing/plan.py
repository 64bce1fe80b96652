"""Ring plan of a call flow: which groups ring at elapsed time t.

Rows ring cumulatively: row i starts when rows 0..i-1 have used up their
ring time and keeps ringing until the call is accepted, abandoned or
escalated. The call escalates when the sum of all ring times has passed.
Boundaries are inclusive at the start: with rows of 20 s and 30 s, at
19.9 s only row 0 rings, at 20.0 s rows 0 and 1, at 50.0 s the call escalates.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate

MAX_TOTAL_RING_SECONDS = 240
"""R-FLOW-1: the ring times of a flow add up to at most this many seconds."""


@dataclass(frozen=True)
class PlanRow:
    """One routing row of a call flow."""

    group_id: int
    """The call group rung by this row."""
    ring_seconds: int
    """How long this row rings alone before the next row joins (> 0)."""

    def __post_init__(self) -> None:
        if self.ring_seconds <= 0:
            raise ValueError("ring_seconds must be positive")


@dataclass(frozen=True)
class RingPlan:
    """The ordered rows of a flow; at least one, total <= 240 s."""

    rows: tuple[PlanRow, ...]
    """Rows in ringing order."""

    def __post_init__(self) -> None:
        if not self.rows:
            raise ValueError("a ring plan needs at least one row")
        if self.total_seconds > MAX_TOTAL_RING_SECONDS:
            raise ValueError(f"ring times add up to {self.total_seconds} s, more than {MAX_TOTAL_RING_SECONDS} s")

    @property
    def total_seconds(self) -> int:
        return sum(r.ring_seconds for r in self.rows)

    @property
    def row_starts(self) -> list[int]:
        """Elapsed second at which each row starts ringing."""
        return [0, *accumulate(r.ring_seconds for r in self.rows)][:-1]

    def escalated(self, elapsed: float) -> bool:
        return elapsed >= self.total_seconds

    def rows_ringing(self, elapsed: float) -> list[int]:
        """Indices of the rows ringing at ``elapsed`` (none once escalated)."""
        if elapsed < 0 or self.escalated(elapsed):
            return []
        return [i for i, start in enumerate(self.row_starts) if start <= elapsed]

    def groups_ringing(self, elapsed: float) -> list[int]:
        """Group ids ringing at ``elapsed``, first occurrence order, no duplicates."""
        seen: list[int] = []
        for i in self.rows_ringing(elapsed):
            if self.rows[i].group_id not in seen:
                seen.append(self.rows[i].group_id)
        return seen

    def next_change(self, elapsed: float) -> float | None:
        """The next elapsed time after ``elapsed`` at which a row starts or the
        call escalates; None when already escalated."""
        for boundary in [*self.row_starts, self.total_seconds]:
            if boundary > elapsed:
                return float(boundary)
        return None
