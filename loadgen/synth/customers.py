"""Customers, one block at a time: names, phones, e-mails, regions, levels, creation dates.

About 65 % are people (surname by real frequency + one or two given-name characters), 35 % are
companies (city + brand + industry + legal form), as in a wholesale 进销存 book.

Phones are unique by construction, not by checking: customer ``k`` gets prefix ``k mod P`` (P
real mobile prefixes, in a seed-shuffled order) and an 8-digit suffix ``(a * (k div P) + c) mod 10^8``
with ``a`` coprime to 10^8 (plus a per-prefix offset) — a bijection, so 4 billion customers can never share a number.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from loadgen.synth.blocks import BLOCK, STREAM_CUSTOMERS, STREAM_PHONES, rng_for, weighted
from loadgen.synth.vocab import (
    BRANDS,
    GIVEN_CHARS,
    INDUSTRIES,
    LEGAL_FORMS,
    LEVELS,
    MAIL_DOMAINS,
    MOBILE_PREFIXES,
    PROVINCES,
    ROADS,
    SURNAMES,
)

US_PER_DAY = 86_400 * 1_000_000
HISTORY_YEARS = 6  # customers were created over the six years before the anchor date
COMPANY_SHARE = 0.35
EMAIL_SHARE = 0.75

_SUR = np.array([s[0] for s in SURNAMES])
_SUR_PY = np.array([s[1] for s in SURNAMES])
_SUR_W = np.array([s[2] for s in SURNAMES])
_GIV = np.array([g[0] for g in GIVEN_CHARS])
_GIV_PY = np.array([g[1] for g in GIVEN_CHARS])
_GIV_W = 1.0 / (np.arange(len(GIVEN_CHARS)) + 5.0)
_BR = np.array([b[0] for b in BRANDS])
_BR_PY = np.array([b[1] for b in BRANDS])
_IND = np.array(INDUSTRIES)
_LEGAL = np.array([f[0] for f in LEGAL_FORMS])
_LEGAL_W = np.array([f[1] for f in LEGAL_FORMS])
_PROV = np.array([p[0] for p in PROVINCES])
_PROV_W = np.array([p[1] for p in PROVINCES], dtype=np.float64)
_CITIES = np.array([c for p in PROVINCES for c in p[2]])
_CITY_N = np.array([len(p[2]) for p in PROVINCES])
_CITY_AT = np.concatenate([[0], np.cumsum(_CITY_N)[:-1]])
_ROADS = np.array(ROADS)
_DOM = np.array([d[0] for d in MAIL_DOMAINS])
_DOM_W = np.array([d[1] for d in MAIL_DOMAINS])
LEVEL_NAMES = np.array([lv[0] for lv in LEVELS])
_LEVEL_W = np.array([lv[1] for lv in LEVELS])
LEVEL_BASE_CENTS = np.array([lv[2] * 100 for lv in LEVELS], dtype=np.int64)


@dataclass
class CustomerBlock:
    """Customers ``first .. first + n - 1`` (0-based seeded index ``k``)."""

    first: int
    code: np.ndarray
    name: np.ndarray
    phone: np.ndarray
    email: np.ndarray        # object: str or None
    region: np.ndarray
    address: np.ndarray
    level: np.ndarray        # index into LEVEL_NAMES
    created_us: np.ndarray   # int64 microseconds since the Unix epoch (naive UTC)
    activity: np.ndarray     # float: relative ordering activity (skewed)
    home_warehouse: np.ndarray

    def __len__(self) -> int:
        return len(self.code)


def _s(*parts: np.ndarray) -> np.ndarray:
    out = parts[0]
    for p in parts[1:]:
        out = np.strings.add(out, p)
    return out


def phones(seed: int, k: np.ndarray) -> np.ndarray:
    rng = rng_for(seed, 0, STREAM_PHONES)
    order = rng.permutation(len(MOBILE_PREFIXES))
    prefixes = np.array(MOBILE_PREFIXES)[order]
    a = int(rng.integers(1, 10**8 // 10)) * 10 + int(rng.choice([1, 3, 7, 9]))  # ends in 1/3/7/9: coprime to 10^8
    c = int(rng.integers(0, 10**8))
    b = int(rng.integers(0, 10**8))
    p = len(prefixes)
    k = np.asarray(k, dtype=np.int64)
    # k < 4e9 keeps this inside int64; the b term only differs between prefixes, so it keeps the bijection
    suffix = (k // p * a + c + (k % p) * b) % 10**8
    return _s(prefixes[np.asarray(k) % p], np.strings.zfill(suffix.astype("U8"), 8))


def customer_block(seed: int, block: int, anchor_us: int) -> CustomerBlock:
    n = BLOCK
    first = block * BLOCK
    k = np.arange(first, first + n, dtype=np.int64)
    rng = rng_for(seed, block, STREAM_CUSTOMERS)

    company = rng.random(n) < COMPANY_SHARE
    sur = weighted(rng, _SUR_W, n)
    g1 = weighted(rng, _GIV_W, n)
    g2 = weighted(rng, _GIV_W, n)
    two = rng.random(n) < 0.7
    person = _s(_SUR[sur], _GIV[g1], np.where(two, _GIV[g2], ""))
    person_py = _s(_SUR_PY[sur], _GIV_PY[g1], np.where(two, _GIV_PY[g2], ""))

    prov = weighted(rng, _PROV_W, n)
    city = _CITIES[_CITY_AT[prov] + (rng.random(n) * _CITY_N[prov]).astype(np.int64)]
    b1 = rng.integers(len(BRANDS), size=n)
    b2 = rng.integers(len(BRANDS), size=n)
    ind = rng.integers(len(INDUSTRIES), size=n)
    legal = weighted(rng, _LEGAL_W, n)
    firm = _s(np.strings.replace(np.strings.replace(city, "市", ""), "区", ""), _BR[b1], _BR[b2], _IND[ind], _LEGAL[legal])
    firm_py = _s(_BR_PY[b1], _BR_PY[b2])

    digits = rng.integers(0, 10_000, size=n)
    with_digits = rng.random(n) < 0.6
    local = np.where(company, _s(np.array(["sales", "info", "caiwu", "service"])[digits % 4]),
                     _s(person_py, np.where(with_digits, digits.astype("U4"), "")))
    domain = np.where(company, _s(firm_py, np.where(digits % 3 == 0, ".com.cn", ".com")), _DOM[weighted(rng, _DOM_W, n)])
    email = _s(local, "@", domain).astype(object)
    email[rng.random(n) >= EMAIL_SHARE] = None

    road = rng.integers(len(ROADS), size=n)
    number = rng.integers(1, 999, size=n)
    address = _s(_PROV[prov], np.where(_PROV[prov] == city, "", city), _ROADS[road], number.astype("U3"), "号")

    level = weighted(rng, _LEVEL_W, n)
    level = np.where(company & (level == 0) & (rng.random(n) < 0.4), 1, level)  # firms skew to higher levels
    age = (rng.random(n) ** 1.6) * HISTORY_YEARS * 365 * US_PER_DAY  # more customers in recent years
    created_us = anchor_us - age.astype(np.int64) - rng.integers(0, 3_600_000_000, size=n)
    # A minority of customers places most orders: log-normal activity (top 20 % ~ 60 % of orders).
    activity = rng.lognormal(0.0, 1.1, n) * np.where(company, 1.8, 1.0)
    home = weighted(rng, [0.28, 0.26, 0.16, 0.12, 0.11, 0.07], n)

    return CustomerBlock(
        first=first,
        code=_s("C", np.strings.zfill((k + 1).astype("U10"), 10)),
        name=np.where(company, firm, person),
        phone=phones(seed, k),
        email=email,
        region=_PROV[prov],
        address=address,
        level=level,
        created_us=created_us,
        activity=activity,
        home_warehouse=home,
    )


__all__ = ["CustomerBlock", "customer_block", "phones", "LEVEL_NAMES", "LEVEL_BASE_CENTS", "US_PER_DAY"]
