"""Content digests of seeded customers: from a database, and straight from the generator."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import text

from loadgen.synth import BLOCK, LEVEL_NAMES, block_history, customer_block, make_catalogue
from reference_app.db import make_engine

_EPOCH = dt.datetime(1970, 1, 1)
COLS = "code, name, phone, email, region, address, level, credit_limit_cents, balance_cents, created_at"


def _row_text(row) -> str:
    return "\x1f".join("" if v is None else (v.isoformat(sep=" ") if isinstance(v, dt.datetime) else str(v))
                       for v in row)


def db_digest(url: str, limit: int | None = None) -> str:
    """Digest of seeded customers (codes C + 10 digits) in code order, as the app would read them."""
    engine = make_engine(url)
    h = hashlib.sha256()
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {COLS} FROM customers WHERE code LIKE 'C__________' "
                                 "ORDER BY code")).all()
    engine.dispose()
    for r in rows[:limit]:
        h.update(_row_text(r).encode() + b"\n")
    return h.hexdigest()


def expected_digest(seed: int, n: int, anchor: dt.date) -> str:
    anchor_us = int((dt.datetime(anchor.year, anchor.month, anchor.day) - _EPOCH).total_seconds()) * 10**6
    cat = make_catalogue(seed)
    h = hashlib.sha256()
    for b in range((n + BLOCK - 1) // BLOCK):
        cb = customer_block(seed, b, anchor_us)
        hist = block_history(seed, b, cb, cat, anchor_us)
        for i in range(min(BLOCK, n - b * BLOCK)):
            created = _EPOCH + dt.timedelta(microseconds=int(cb.created_us[i]))
            row = (cb.code[i], cb.name[i], cb.phone[i], cb.email[i], cb.region[i], cb.address[i],
                   LEVEL_NAMES[cb.level[i]], int(hist.credit_limit[i]), int(hist.balance[i]), created)
            h.update(_row_text(row).encode() + b"\n")
    return h.hexdigest()
