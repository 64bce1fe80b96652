import pytest

from vidzzle_media.routing.plan import MAX_TOTAL_RING_SECONDS, PlanRow, RingPlan

PLAN = RingPlan((PlanRow(1, 20), PlanRow(2, 30)))


@pytest.mark.parametrize("elapsed, groups", [
    (0.0, [1]), (19.9, [1]), (20.0, [1, 2]), (49.9, [1, 2]), (50.0, []),
])
def test_rows_ring_cumulatively_at_exact_boundaries(elapsed, groups):
    assert PLAN.groups_ringing(elapsed) == groups
    assert PLAN.escalated(elapsed) == (elapsed >= 50.0)


def test_next_change():
    assert PLAN.next_change(0) == 20.0
    assert PLAN.next_change(20.0) == 50.0
    assert PLAN.next_change(50.0) is None


def test_sum_241_refused_240_accepted():
    RingPlan((PlanRow(1, 200), PlanRow(2, 40)))
    with pytest.raises(ValueError, match="241"):
        RingPlan((PlanRow(1, 200), PlanRow(2, 41)))
    assert MAX_TOTAL_RING_SECONDS == 240


def test_same_group_twice_rings_once():
    plan = RingPlan((PlanRow(1, 10), PlanRow(1, 10), PlanRow(3, 10)))
    assert plan.groups_ringing(25) == [1, 3]


def test_empty_and_nonpositive_rows_refused():
    with pytest.raises(ValueError):
        RingPlan(())
    with pytest.raises(ValueError):
        PlanRow(1, 0)
