"""Every shipped profile, swept as shipped, loads its book with its own staff and can produce a
valid step: the requests its online staff can make in a window, at the first level of its search,
clear the minimum a valid step needs (with a margin), at think times a person can keep up."""

from __future__ import annotations

import pytest

from loadgen.measure.validity import MIN_REQUESTS
from loadgen.workload.staffing import Staffing, expected_rate, online_of, staff_of_book
from profiles.loader import SHIPPED_DIR, load_profiles, profile_files
from profiles.schema import KEYBOARD_FLOOR_S

MARGIN = 1.2  # the expected count is an upper bound (instant responses); keep room below it
PROFILES = load_profiles(profile_files(SHIPPED_DIR))


def expected_requests(profile, customers: int) -> float:
    wl = profile.workload
    online = online_of(staff_of_book(customers, Staffing.of(wl.staffing)), wl.staffing.online_share)
    return expected_rate(online, wl.think_time_s) * profile.sweep.step_duration_s


@pytest.mark.parametrize("profile", PROFILES, ids=[p.name for p in PROFILES])
def test_shipped_profile_can_produce_a_valid_step_at_its_first_level(profile):
    assert profile.workload.staffed, "a shipped profile is swept with the book's own staff"
    n = profile.sweep.start_customers
    assert expected_requests(profile, n) >= MARGIN * MIN_REQUESTS, (n, expected_requests(profile, n))
    # the load grows with the book: every later level has more
    assert expected_requests(profile, 2 * n) > expected_requests(profile, n)
    for persona, (lo, hi) in profile.workload.think_time_s.items():
        assert lo >= KEYBOARD_FLOOR_S, (persona, lo)
    # bounded by construction: growth from the first level reaches a maximum above it
    assert profile.sweep.max_customers >= 4 * n


def test_the_expected_count_is_the_staff_over_their_think_time():
    (p,) = [x for x in PROFILES if x.name == "pg-managed-1cpu-2g"]
    # 125,000 customers: 148 salespeople, 15 managers, 30 clerks, 15 back office; half online
    # = 74, 8, 15, 8 (round half to even); mean think 9 s (sales, clerk), 15 s (manager, back office);
    # a 120 s window
    want = (74 / 9 + 15 / 9 + 8 / 15 + 8 / 15) * 120
    assert expected_requests(p, 125_000) == pytest.approx(want)
