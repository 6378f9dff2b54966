"""The staff of a book of N: the formula, the seeded accounts, who is online, and reproducibility."""

from __future__ import annotations

import math

import pytest

from loadgen.synth.operators import operator_rows
from loadgen.workload.staffing import (
    Staffing,
    choose_online,
    describe,
    online_of,
    operator_seed,
    salespeople_for,
    staff_of_book,
)


@pytest.mark.parametrize("customers", [1, 850, 851, 8_500, 90_000, 1_000_000])
def test_staff_of_a_book_matches_the_formula(customers):
    st = Staffing()
    sales = math.ceil(customers / math.floor(0.85 * 1000))
    assert staff_of_book(customers, st) == {
        "sales": sales, "manager": math.ceil(sales / 10), "clerk": max(2, math.ceil(sales / 5)),
        "back_office": max(1, math.ceil(sales / 10))}


def test_the_seed_creates_exactly_that_staff():
    st = Staffing(customers_per_salesperson=200, team_size=4, sales_per_clerk=3, sales_per_back_office=7)
    staff = staff_of_book(10_000, st)
    rows = operator_rows(salespeople_for(10_000, 200), 200, st)
    by_role = {}
    for r in rows:
        by_role.setdefault(r["role"], []).append(r["username"])
    assert len(by_role["sales"]) == staff["sales"] == 59
    assert len(by_role["manager"]) == staff["manager"] == 15
    assert len(by_role["clerk"]) == staff["clerk"] == 20
    assert sorted(by_role["admin"]) == ["admin"] + [f"office{i:04d}" for i in range(1, staff["back_office"] + 1)]
    assert staff["back_office"] == 9
    assert {r["team"] for r in rows if r["role"] == "sales"} == {r["team"] for r in rows if r["role"] == "manager"}


def test_online_share_and_words():
    staff = staff_of_book(90_000, Staffing())
    assert staff == {"sales": 106, "manager": 11, "clerk": 22, "back_office": 11}
    assert online_of(staff, 0.5) == {"sales": 53, "manager": 6, "clerk": 11, "back_office": 6}
    assert online_of({"sales": 1, "manager": 0}, 0.1) == {"sales": 1, "manager": 0}
    assert describe(staff) == "106 salespeople, 11 managers, 22 clerks, 11 back-office staff"


def test_online_people_are_spread_over_the_book_and_reproducible():
    chosen = choose_online(100, 1000, seed=42, customers=850_000, role="sales")
    assert chosen == choose_online(100, 1000, seed=42, customers=850_000, role="sales")
    assert len(set(chosen)) == 100 and all(0 <= i < 1000 for i in chosen)
    assert chosen != list(range(100))                       # not the first accounts
    assert sum(i >= 500 for i in chosen) >= 30               # both halves of the book work
    assert sum(i < 500 for i in chosen) >= 30
    assert max(chosen) - min(chosen) > 800
    assert choose_online(100, 1000, seed=43, customers=850_000, role="sales") != chosen
    assert choose_online(100, 1000, seed=42, customers=850_000, role="clerk") != chosen
    # a bigger book keeps most of the smaller one's people at work
    bigger = set(choose_online(200, 2000, seed=42, customers=1_700_000, role="sales"))
    assert len(bigger & set(chosen)) >= 80


def test_operator_seeds_are_stable_and_distinct():
    a = operator_seed(42, 8000, "sales", 3)
    assert a == operator_seed(42, 8000, "sales", 3)      # no hash() of strings: same in every process
    assert len({a, operator_seed(42, 8000, "sales", 4), operator_seed(42, 16000, "sales", 3),
                operator_seed(43, 8000, "sales", 3), operator_seed(42, 8000, "clerk", 3)}) == 5
