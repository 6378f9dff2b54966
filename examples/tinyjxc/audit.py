"""tinyjxc's own check of its books, run by jxcbench after each measured step (``system.audit``).

Run: ``python audit.py --db tiny.db --customers 5000``. Exit 0 when the books are straight; 1 with
one line per finding otherwise:

* the book holds exactly the N customers the step was seeded with (the load only reads customers);
* every sales order points at an existing customer and product (SQLite does not enforce foreign
  keys unless asked, so the app must);
* every order's amount is its quantity times the product's price, and its quantity is positive.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys


def findings(conn: sqlite3.Connection, customers: int) -> list[str]:
    out = []
    n = conn.execute("SELECT count(*) FROM customer").fetchone()[0]
    if n != customers:
        out.append(f"{n} customers in the book, {customers} seeded")
    orphans = conn.execute("SELECT count(*) FROM sales_order o LEFT JOIN customer c ON c.id = o.customer_id "
                           "LEFT JOIN product p ON p.id = o.product_id WHERE c.id IS NULL OR p.id IS NULL").fetchone()[0]
    if orphans:
        out.append(f"{orphans} sales orders without their customer or product")
    wrong = conn.execute("SELECT count(*) FROM sales_order o JOIN product p ON p.id = o.product_id "
                         "WHERE o.qty <= 0 OR abs(o.amount - o.qty * p.price) > 0.005").fetchone()[0]
    if wrong:
        out.append(f"{wrong} sales orders whose amount is not quantity x price (or whose quantity is not positive)")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="tiny.db")
    ap.add_argument("--customers", type=int, required=True)
    a = ap.parse_args()
    conn = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
    found = findings(conn, a.customers)
    for line in found:
        print(line)
    if not found:
        print(f"books straight: {a.customers} customers, "
              f"{conn.execute('SELECT count(*) FROM sales_order').fetchone()[0]} sales orders")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
