"""Operators sized by quota: salespeople, their managers, clerks, a back office, one admin.

Each salesperson is filled to :data:`FILL` of the quota (85 %), leaving 15 % headroom so that the
customers salespeople create through the API during a load run are not all refused for quota.
Salespeople form teams of ``team_size`` with one manager each; there is one clerk per
``sales_per_clerk`` salespeople (at least two), one back-office account (finance / owner, role
``admin``, ``office0001`` …) per ``sales_per_back_office`` salespeople (at least one) and one
``admin``. The formula lives in :mod:`loadgen.workload.staffing`, which the step reads too.

Seeded customer ``k`` (0-based) nominally belongs to salesperson ``k // per_salesperson``. When
the API has already given that salesperson customers of its own (a grow after a load step), the
customers that would put it over its quota spill to the next salesperson (:func:`assign_owners`),
so nobody ever ends up over quota.
"""

from __future__ import annotations

import numpy as np

from loadgen.workload.staffing import FILL, Staffing, per_salesperson, salespeople_for, staff_for_salespeople

TEAM_SIZE = Staffing().team_size
SALES_PER_CLERK = Staffing().sales_per_clerk
LOADTEST_PASSWORD = "jxcbench-load"


def sales_username(j: int) -> str:
    return f"sales{j + 1:06d}"


def manager_username(t: int) -> str:
    return f"mgr{t + 1:04d}"


def clerk_username(c: int) -> str:
    return f"clerk{c + 1:04d}"


def office_username(b: int) -> str:
    return f"office{b + 1:04d}"


def team_name(t: int) -> str:
    return f"team{t + 1:04d}"


def operator_rows(salespeople: int, quota: int, staffing: Staffing | None = None) -> list[dict]:
    """Every operator a book with ``salespeople`` salespeople has (no ids, no password)."""
    st = staffing or Staffing(customers_per_salesperson=quota)
    staff = staff_for_salespeople(salespeople, st)
    rows = [dict(username="admin", role="admin", team=None, customer_quota=quota)]
    rows += [dict(username=manager_username(t), role="manager", team=team_name(t), customer_quota=quota)
             for t in range(staff["manager"])]
    rows += [dict(username=sales_username(j), role="sales", team=team_name(j // st.team_size), customer_quota=quota)
             for j in range(salespeople)]
    rows += [dict(username=clerk_username(c), role="clerk", team=None, customer_quota=0) for c in range(staff["clerk"])]
    rows += [dict(username=office_username(b), role="admin", team=None, customer_quota=0)
             for b in range(staff["back_office"])]
    return rows


def assign_owners(start: int, stop: int, quota: int, room: dict[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Owners of seeded customers ``start..stop-1`` as (salesperson indices, how many each), in order.

    ``room[j]`` is how many more customers salesperson ``j`` may own (missing: a new salesperson,
    room = quota). Nominal owner of ``k`` is ``k // per``; overflow carries to the next one.
    """
    per = per_salesperson(quota)
    js, takes = [], []
    carry = 0
    j = start // per
    k = start
    while k < stop or carry:
        nominal = max(0, min(stop, (j + 1) * per) - k) if k < stop else 0
        k += nominal
        want = nominal + carry
        take = min(want, room.get(j, quota))
        carry = want - take
        if take:
            js.append(j)
            takes.append(take)
        j += 1
    return np.array(js, dtype=np.int64), np.array(takes, dtype=np.int64)


__all__ = ["FILL", "TEAM_SIZE", "SALES_PER_CLERK", "LOADTEST_PASSWORD", "per_salesperson", "salespeople_for",
           "operator_rows", "assign_owners", "sales_username", "manager_username", "clerk_username",
           "office_username", "team_name"]
