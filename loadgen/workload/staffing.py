"""The staff a book of N customers comes with, who of them works at once, and who exactly.

One source of truth for the seed (:mod:`loadgen.synth.operators` creates these accounts) and for a
step (:mod:`loadgen.capacity.step` logs in the online share of them):

* salespeople: ``ceil(N / floor(FILL * customers_per_salesperson))`` — each filled to 85 % of the
  quota, so the customers salespeople create during a load are not all refused for quota;
* managers: one per team of ``team_size`` salespeople;
* clerks: one per ``sales_per_clerk`` salespeople, at least 2;
* back office (finance / owner accounts, role ``admin``): one per ``sales_per_back_office``
  salespeople, at least 1; usernames ``office0001`` …

Online at the peak: ``round(online_share * staff)`` per role, at least one per role present.
Who is online is drawn across the whole book (never the first accounts) from a numpy Generator
seeded with ``(seed, role)`` over the book's accounts of N: the same seed and level give the same
people in every process (:func:`choose_online`).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, replace

FILL = 0.85
ROLES = ("sales", "manager", "clerk", "back_office")
ACCOUNT_ROLE = {"sales": "sales", "manager": "manager", "clerk": "clerk", "back_office": "admin"}
USERNAME_PREFIX = {"sales": "sales", "manager": "mgr", "clerk": "clerk", "back_office": "office"}


@dataclass(frozen=True)
class Staffing:
    customers_per_salesperson: int = 1000
    team_size: int = 10
    sales_per_clerk: int = 5
    sales_per_back_office: int = 10
    online_share: float = 0.5

    @classmethod
    def of(cls, obj) -> "Staffing":
        """From a profile's ``workload.staffing`` (pydantic model or dict) or a Staffing; None: defaults."""
        if obj is None:
            return cls()
        if isinstance(obj, Staffing):
            return obj
        get = obj.get if isinstance(obj, dict) else (lambda k, d=None: getattr(obj, k, d))
        return cls(**{k: get(k) for k in cls.__dataclass_fields__ if get(k) is not None})

    def with_quota(self, quota: int) -> Staffing:
        """The same staffing with ``workload.customer_quota`` as the customers per salesperson."""
        return replace(self, customers_per_salesperson=int(quota))


def per_salesperson(quota: int) -> int:
    """Seeded customers per salesperson: 85 % of the quota."""
    return max(1, math.floor(quota * FILL))


def salespeople_for(customers: int, quota: int) -> int:
    return max(1, math.ceil(customers / per_salesperson(quota)))


def staff_for_salespeople(salespeople: int, s: Staffing = Staffing()) -> dict[str, int]:
    return {
        "sales": salespeople,
        "manager": math.ceil(salespeople / s.team_size),
        "clerk": max(2, math.ceil(salespeople / s.sales_per_clerk)),
        "back_office": max(1, math.ceil(salespeople / s.sales_per_back_office)),
    }


def staff_of_book(customers: int, s: Staffing = Staffing()) -> dict[str, int]:
    """The staff a book of ``customers`` customers has, per role."""
    return staff_for_salespeople(salespeople_for(customers, s.customers_per_salesperson), s)


def online_of(staff: dict[str, int], share: float) -> dict[str, int]:
    """How many of each role work at once: ``round(share * staff)``, at least 1 where there is staff."""
    return {r: (min(n, max(1, round(share * n))) if n > 0 and share > 0 else 0) for r, n in staff.items()}


def choose_online(count: int, staff: int, *, seed: int, customers: int, role: str) -> list[int]:
    """``count`` distinct indices out of ``range(staff)``, drawn across the whole book, reproducibly.

    Every account of a role gets a fixed random key from ``(seed, role)`` (a prefix of one numpy
    stream, so account i's key does not depend on the book's size); the ``count`` smallest keys among
    the book's ``staff`` accounts are online. The same seed and level give the same people, and a
    bigger book keeps most of a smaller one's people at work (their logins are reused in a sweep).
    ``customers`` only states the level the choice is for (the staff size carries it)."""
    import numpy as np

    del customers  # the level enters through ``staff``
    keys = np.random.default_rng([int(seed), zlib.crc32(role.encode())]).random(staff)
    return sorted(int(i) for i in np.argsort(keys, kind="stable")[: min(count, staff)])


def operator_seed(seed: int, customers: int, persona: str, index: int) -> int:
    """The seed of one operator's random choices: from the profile's seed, the level and its index
    (stable across processes, unlike ``hash()`` of strings)."""
    import numpy as np

    ss = np.random.SeedSequence([int(seed), int(customers), zlib.crc32(persona.encode()), int(index)])
    return int(ss.generate_state(2, dtype=np.uint64)[0])


def expected_rate(online: dict[str, int], think_times: dict[str, tuple[float, float]]) -> float:
    """Requests per second the online staff can make at most: each person one request per mean think
    time (responses taken as instant, so an upper bound; a slower server gets fewer)."""
    return sum(n / max(1e-9, sum(think_times[p]) / 2) for p, n in online.items() if n)


def describe(staff: dict[str, int]) -> str:
    """``106 salespeople, 11 managers, 22 clerks, 11 back-office staff``."""
    words = {"sales": ("salesperson", "salespeople"), "manager": ("manager", "managers"),
             "clerk": ("clerk", "clerks"), "back_office": ("back-office staff", "back-office staff")}
    return ", ".join(f"{n:,} {words[r][n != 1]}" for r, n in staff.items() if r in words and n)


__all__ = ["ACCOUNT_ROLE", "FILL", "ROLES", "Staffing", "USERNAME_PREFIX", "choose_online", "describe",
           "expected_rate", "online_of", "operator_seed", "per_salesperson", "salespeople_for", "staff_for_salespeople",
           "staff_of_book"]
