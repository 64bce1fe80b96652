"""The live dispatcher on a manual clock: exact boundaries, stop, many calls."""

from vidzzle_media.routing.clock import ManualClock
from vidzzle_media.routing.dispatcher import Dispatcher
from vidzzle_media.routing.plan import PlanRow, RingPlan

PLAN = RingPlan((PlanRow(1, 20), PlanRow(2, 30)))


class Recorder:
    """A real RingHandler that remembers what it was told, and when."""

    def __init__(self, clock):
        self.clock = clock
        self.rings: list[tuple[float, str, list[int]]] = []
        self.escalations: list[tuple[float, str]] = []

    async def ring_rows(self, call_id, rows):
        self.rings.append((self.clock.time(), call_id, rows))

    async def escalate(self, call_id):
        self.escalations.append((self.clock.time(), call_id))


async def test_exact_boundaries():
    clock = ManualClock()
    rec = Recorder(clock)
    d = Dispatcher(clock, rec)
    d.start("c1", PLAN)
    await clock.advance(19.9)
    assert rec.rings == [(0.0, "c1", [0])]
    assert d.rows_ringing("c1") == [0]
    await clock.advance(0.1)
    assert rec.rings[-1] == (20.0, "c1", [1])
    assert d.rows_ringing("c1") == [0, 1]
    await clock.advance(29.9)
    assert rec.escalations == []
    await clock.advance(0.1)
    assert rec.escalations == [(50.0, "c1")]
    assert not d.is_ringing("c1")


async def test_stop_cancels_escalation():
    clock = ManualClock()
    rec = Recorder(clock)
    d = Dispatcher(clock, rec)
    d.start("c1", PLAN)
    await clock.advance(5)
    assert d.stop("c1")
    await clock.advance(100)
    assert rec.escalations == [] and len(rec.rings) == 1
    assert not d.stop("c1")


async def test_calls_are_independent():
    clock = ManualClock()
    rec = Recorder(clock)
    d = Dispatcher(clock, rec)
    d.start("a", PLAN)
    await clock.advance(10)
    d.start("b", PLAN)
    await clock.advance(40)
    assert rec.escalations == [(50.0, "a")]
    await clock.advance(10)
    assert rec.escalations == [(50.0, "a"), (60.0, "b")]
    await d.close()
