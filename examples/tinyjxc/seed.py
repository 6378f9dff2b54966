"""Bring tinyjxc's database to exactly N customers (and a fixed catalogue); idempotent.

Run: ``python seed.py --db tiny.db --customers 5000``. Names are deterministic (customer i is always
the same), so a re-run at the same N changes nothing, a larger N adds the missing ones and a smaller
N removes those above it (with their orders): a capacity search goes back down when it bisects.
"""

from __future__ import annotations

import argparse
import random
import sqlite3

from app import connect

SYLLABLES = ["wang", "li", "zhang", "liu", "chen", "yang", "zhao", "huang", "zhou", "wu", "xu", "sun", "hu", "zhu",
             "gao", "lin", "he", "guo", "ma", "luo"]
PRODUCTS = 50


def name_of(i: int) -> str:
    rng = random.Random(i)
    return " ".join(rng.choice(SYLLABLES).title() for _ in range(3)) + f" Trading {i}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="tiny.db")
    ap.add_argument("--customers", type=int, required=True)
    a = ap.parse_args()
    if a.customers < 0:
        raise SystemExit(f"--customers {a.customers}: must not be negative")
    conn: sqlite3.Connection = connect(a.db)
    with conn:
        have = conn.execute("SELECT count(*) FROM product").fetchone()[0]
        conn.executemany("INSERT INTO product (id, name, price) VALUES (?, ?, ?)",
                         [(i, f"product {i}", 10.0 + i) for i in range(have + 1, PRODUCTS + 1)])
        have = conn.execute("SELECT coalesce(max(id), 0) FROM customer").fetchone()[0]
        conn.executemany("INSERT INTO customer (id, name, phone) VALUES (?, ?, ?)",
                         [(i, name_of(i), f"138{i:08d}") for i in range(have + 1, a.customers + 1)])
        conn.execute("DELETE FROM sales_order WHERE customer_id > ?", (a.customers,))
        conn.execute("DELETE FROM customer WHERE id > ?", (a.customers,))
    total = conn.execute("SELECT count(*) FROM customer").fetchone()[0]
    print(f"tinyjxc: {total} customers, {PRODUCTS} products")


if __name__ == "__main__":
    main()
