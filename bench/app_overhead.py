"""CPU per request of the reference app against true floors, per endpoint of the workload mix.

In one run: seed a small book (SQLite in a temporary directory by default; with ``--db URL`` of a
PostgreSQL or MariaDB server, a throwaway database is created beside the URL's and dropped at the
end), then serve it with uvicorn (1 worker, no access log, pinned to one core; the client is pinned
to another) as each of:

* ``hello``: a raw ASGI hello-world (no framework, no database): what uvicorn itself costs;
* ``raw``: a raw ASGI app doing each endpoint's queries with the bare driver (sqlite3 / psycopg /
  PyMySQL, one connection per worker thread) through the same thread hop as the app (its
  ``reference_app.api.workers``) and returning orjson;
* ``app``: the reference app of this tree;
* ``baseline``: the reference app of ``--baseline-rev`` (default 7c153a3, before issue #13),
  exported with ``git archive`` into a temporary directory — so "before" is measured in the same
  run, on the same machine, against the same database.

For every endpoint a small asyncio keep-alive client (cheap, on the other core) drives only that
request for ``--seconds``; the figure is the server process's CPU time (user + system, all
threads, from /proc) divided by the requests it answered: µs of CPU per request, which does not
depend on how fast the client is. The mix figure weights the endpoints by the default workload
(``profiles`` mix sales .7 / clerk .2 / manager .1 times each persona's operation weights in
loadgen/workload/jxc.py, copied below). The back-office endpoints (total, export) are printed but
have no weight in that mix. With PostgreSQL or MariaDB the database server's own CPU is not
counted (it is another process, and the same for every kind). Each endpoint is driven against
every kind in turn (all servers up at once), so the book its writes grow is the same for all kinds;
``--rounds`` times, the kinds' order alternating; the spread between rounds is printed. Nothing here
asserts.

    python bench/app_overhead.py [--db URL] [--customers 2000] [--seconds 2] [--rounds 2]
        [--connections 8] [--baseline-rev REV | --no-baseline] [--endpoints a,b,...]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_BASELINE = "7c153a3"  # main before issue #13
SERVER_CPU, CLIENT_CPU = None, None  # chosen in main(): last core for the server, the others for us

# Default mix: persona share x the persona's operation weight / sum of its weights.
PERSONAS = {"sales": 0.7, "clerk": 0.2, "manager": 0.1}
OPERATIONS = {  # name: (persona, weight)
    "customer_search": ("sales", 20), "customer_list": ("sales", 15), "customer_view": ("sales", 25),
    "customer_create": ("sales", 5), "customer_edit": ("sales", 5), "sales_order_create": ("sales", 20),
    "payment_create": ("sales", 10),
    "stock_check": ("clerk", 40), "product_browse": ("clerk", 30), "purchase_order_create": ("clerk", 15),
    "purchase_order_receive": ("clerk", 15),
    "report_top_customers": ("manager", 40), "report_receivables_aging": ("manager", 30),
    "report_stock_levels": ("manager", 30),
    # back office (issue #11): no weight in the default mix
    "customer_list_total": ("admin", 0), "customer_export_csv": ("admin", 0),
}


WRITES = {"customer_create", "customer_edit", "sales_order_create", "payment_create", "purchase_order_create",
          "purchase_order_receive"}
NEW_ENDPOINTS = {"customer_list_total", "customer_export_csv"}  # not in the baseline app


def mix_weights() -> dict[str, float]:
    sums = {p: sum(w for q, w in OPERATIONS.values() if q == p) for p in PERSONAS}
    return {name: PERSONAS[p] * w / sums[p] if p in PERSONAS else 0.0 for name, (p, w) in OPERATIONS.items()}


# ============================================================================ the floors (servers)
async def _lifespan(receive, send, on_stop=None) -> None:  # noqa: ANN001
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if on_stop:
                on_stop()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _answer(send, status: int, body: bytes, content_type: bytes = b"application/json") -> None:  # noqa: ANN001
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def create_hello_app():
    """uvicorn's own floor: a constant JSON answer, no framework, no database, no thread hop."""
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await _lifespan(receive, send)
        if scope["method"] == "POST":  # drain the body as a real handler would
            while (await receive()).get("more_body"):
                pass
        await _answer(send, 200, b'{"status":"ok"}')
    return app


class RawDriver:
    """The bare driver with a bare pool (a queue of connections, made as needed like the app's), the
    same transactions the app runs."""

    def __init__(self, url: str) -> None:
        import queue

        from sqlalchemy import make_url

        self.url = make_url(url)
        self.backend = self.url.get_backend_name()
        self.idle: queue.SimpleQueue = queue.SimpleQueue()
        self.conns: list = []

    def connect(self):  # noqa: ANN201
        try:
            return self.idle.get_nowait()
        except Exception:  # noqa: BLE001 - queue.Empty: make one more
            pass
        u = self.url
        if self.backend == "sqlite":
            import sqlite3
            conn = sqlite3.connect(u.database, timeout=30, check_same_thread=False, isolation_level=None)
            for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000", "foreign_keys=ON"):
                conn.execute(f"PRAGMA {pragma}")
        elif self.backend == "postgresql":
            import psycopg
            conn = psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password or "",
                                   dbname=u.database)
            conn.execute("SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED")
            conn.commit()
        else:
            import pymysql
            from pymysql.constants import CLIENT
            conn = pymysql.connect(host=u.host, port=u.port or 3306, user=u.username, password=u.password or "",
                                   database=u.database, charset="utf8mb4", client_flag=CLIENT.FOUND_ROWS)
            with conn.cursor() as cur:
                cur.execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
            conn.commit()
        self.conns.append(conn)
        return conn

    def sql(self, text: str) -> str:
        if self.backend != "sqlite":
            text = text.replace("?", "%s").replace(" LIKE ", " ILIKE " if self.backend == "postgresql" else " LIKE ")
        return text

    def ts(self, value: dt.datetime):  # noqa: ANN201 - how the app stores a timestamp on this engine
        return value.strftime("%Y-%m-%d %H:%M:%S.%f") if self.backend == "sqlite" else value

    def run(self, fn, write: bool):  # noqa: ANN001, ANN201
        conn = self.connect()
        try:
            cur = conn.cursor()
            if self.backend == "sqlite":
                cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                result = fn(cur)
            except BaseException:
                conn.rollback()
                raise
            finally:
                cur.close()
            conn.commit() if write else conn.rollback()
            return result
        finally:
            self.idle.put(conn)

    def insert(self, cur, text: str, args: tuple) -> int:  # noqa: ANN001
        if self.backend == "postgresql":
            cur.execute(self.sql(text + " RETURNING id"), args)
            return cur.fetchone()[0]
        cur.execute(self.sql(text), args)
        return cur.lastrowid

    def close(self) -> None:
        for conn in self.conns:
            conn.close()


CUSTOMER_COLS = ("id, code, name, phone, email, region, address, level, credit_limit_cents, balance_cents, owner_id, "
                 "created_at, updated_at")
CUSTOMER_KEYS = [c.strip() for c in CUSTOMER_COLS.split(",")]
TEAM_SCOPE = "owner_id IN (SELECT id FROM operators WHERE team = ?)"


def raw_handlers(d: RawDriver, ids: dict) -> dict:
    """Each endpoint's work with the bare driver: (write?, fn(cursor, query, body) -> (status, body))."""
    import csv
    import io

    import orjson

    sales, manager, clerk = ids["sales"], ids["manager"], ids["clerk"]
    now = lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None)  # noqa: E731
    q = d.sql

    def customer(row) -> dict:  # noqa: ANN001
        c = dict(zip(CUSTOMER_KEYS, row, strict=True))
        c["credit_limit"], c["balance"] = c.pop("credit_limit_cents") / 100, c.pop("balance_cents") / 100
        return c

    def view(cur, qs, body, cid):  # noqa: ANN001
        cur.execute(q(f"SELECT {CUSTOMER_COLS} FROM customers WHERE id = ? AND owner_id = ?"), (cid, sales))
        row = cur.fetchone()
        if row is None:
            return 404, b'{"detail":"not found"}'
        cur.execute(q("SELECT id, warehouse_id, total_cents, created_at FROM sales_orders WHERE customer_id = ? "
                      "ORDER BY created_at DESC, id DESC LIMIT 5"), (cid,))
        out = customer(row)
        out["recent_orders"] = [dict(zip(("id", "warehouse_id", "total", "created_at"), r, strict=True))
                                for r in cur.fetchall()]
        return 200, orjson.dumps(out, default=str)

    def page(cur, qs, body, _=None):  # noqa: ANN001
        limit = int(qs.get("limit", 20))
        cur.execute(q(f"SELECT {CUSTOMER_COLS} FROM customers WHERE owner_id = ? AND id > ? ORDER BY id LIMIT ?"),
                    (sales, int(qs.get("after", 0)), limit + 1))
        rows = cur.fetchall()
        nxt = rows[limit - 1][0] if len(rows) > limit else None
        return 200, orjson.dumps({"items": [customer(r) for r in rows[:limit]], "next_after": nxt}, default=str)

    def page_total(cur, qs, body, _=None):  # noqa: ANN001 - admin: the whole book
        limit = int(qs.get("limit", 20))
        cur.execute(q(f"SELECT {CUSTOMER_COLS} FROM customers WHERE id > ? ORDER BY id LIMIT ?"),
                    (int(qs.get("after", 0)), limit + 1))
        rows = cur.fetchall()
        cur.execute("SELECT count(*) FROM customers")
        total = cur.fetchone()[0]
        nxt = rows[limit - 1][0] if len(rows) > limit else None
        return 200, orjson.dumps({"items": [customer(r) for r in rows[:limit]], "next_after": nxt, "total": total},
                                 default=str)

    def search(cur, qs, body, _=None):  # noqa: ANN001
        pattern = "%" + qs["q"].replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
        cur.execute(q(f"SELECT {CUSTOMER_COLS} FROM customers WHERE owner_id = ? AND (name LIKE ? ESCAPE '!' "
                      "OR phone LIKE ? ESCAPE '!') ORDER BY id LIMIT ?"), (sales, pattern, pattern, int(qs["limit"])))
        return 200, orjson.dumps({"items": [customer(r) for r in cur.fetchall()]}, default=str)

    def export_csv(cur, qs, body, _=None):  # noqa: ANN001 - admin, whole book, keyset pages of 5000
        buf = io.StringIO()
        buf.write("\ufeffid,name,phone,region,level,owner_id,credit_limit,balance,created_at\r\n")
        w = csv.writer(buf)
        after = 0
        while True:
            cur.execute(q("SELECT id, name, phone, region, level, owner_id, credit_limit_cents, balance_cents, "
                          "created_at FROM customers WHERE id > ? ORDER BY id LIMIT 5000"), (after,))
            rows = cur.fetchall()
            for r in rows:
                w.writerow((*r[:6], r[6] / 100, r[7] / 100, r[8]))
            if len(rows) < 5000:
                return 200, buf.getvalue().encode("utf-8")
            after = rows[-1][0]

    def stock(cur, qs, body, _=None):  # noqa: ANN001
        cur.execute(q("SELECT product_id, warehouse_id, on_hand FROM stock WHERE product_id = ? "
                      "ORDER BY product_id, warehouse_id LIMIT ?"), (int(qs["product_id"]), 100))
        return 200, orjson.dumps({"items": [dict(zip(("product_id", "warehouse_id", "on_hand"), r, strict=True))
                                            for r in cur.fetchall()]})

    def products(cur, qs, body, _=None):  # noqa: ANN001
        limit = int(qs.get("limit", 20))
        cur.execute(q("SELECT id, sku, name, category, unit, price_cents, cost_cents, created_at FROM products "
                      "WHERE id > ? ORDER BY id LIMIT ?"), (int(qs.get("after", 0)), limit + 1))
        rows = cur.fetchall()
        nxt = rows[limit - 1][0] if len(rows) > limit else None
        keys = ("id", "sku", "name", "category", "unit", "price", "cost", "created_at")
        return 200, orjson.dumps({"items": [dict(zip(keys, r, strict=True)) for r in rows[:limit]],
                                  "next_after": nxt}, default=str)

    def top(cur, qs, body, _=None):  # noqa: ANN001
        since = d.ts(now() - dt.timedelta(days=int(qs["days"])))
        cur.execute(q("SELECT c.id, c.name, count(o.id), sum(o.total_cents) AS t FROM customers c "
                      "JOIN sales_orders o ON o.customer_id = c.id WHERE o.created_at >= ? AND c." + TEAM_SCOPE +
                      " GROUP BY c.id, c.name ORDER BY t DESC, c.id LIMIT ?"), (since, "bench", int(qs["limit"])))
        return 200, orjson.dumps([{"customer_id": r[0], "name": r[1], "orders": r[2], "total": str(r[3])}
                                  for r in cur.fetchall()])

    def aging(cur, qs, body, _=None):  # noqa: ANN001
        t = now()
        b30, b60, b90 = (d.ts(t - dt.timedelta(days=n)) for n in (30, 60, 90))
        cur.execute(q(
            "SELECT bucket, sum(open_cents), count(DISTINCT customer_id) FROM ("
            " SELECT CASE WHEN created_at >= ? THEN '0-30' WHEN created_at >= ? THEN '31-60' "
            "  WHEN created_at >= ? THEN '61-90' ELSE '90+' END AS bucket,"
            " CASE WHEN newer_incl - total_cents >= balance THEN 0 WHEN newer_incl <= balance THEN total_cents"
            "  ELSE balance - (newer_incl - total_cents) END AS open_cents, customer_id FROM ("
            "  SELECT o.customer_id, o.created_at, o.total_cents, c.balance_cents AS balance,"
            "   sum(o.total_cents) OVER (PARTITION BY o.customer_id ORDER BY o.created_at DESC, o.id DESC"
            "   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS newer_incl"
            "  FROM sales_orders o JOIN customers c ON c.id = o.customer_id"
            "  WHERE c.balance_cents > 0 AND c." + TEAM_SCOPE + ") AS orders) AS per_order"
            " WHERE open_cents > 0 GROUP BY bucket"), (b30, b60, b90, "bench"))
        found = {r[0]: (int(r[1]), int(r[2])) for r in cur.fetchall()}
        return 200, orjson.dumps({"as_of": t, "buckets": [{"bucket": k, "amount": str(v[0]), "customers": v[1]}
                                                          for k, v in found.items()]})

    def levels(cur, qs, body, _=None):  # noqa: ANN001
        cur.execute(q("SELECT s.product_id, p.sku, p.name, s.warehouse_id, w.code, s.on_hand FROM stock s "
                      "JOIN products p ON p.id = s.product_id JOIN warehouses w ON w.id = s.warehouse_id "
                      "WHERE s.warehouse_id = ? ORDER BY s.on_hand, s.product_id, s.warehouse_id LIMIT ?"),
                    (int(qs["warehouse_id"]), int(qs["limit"])))
        keys = ("product_id", "sku", "name", "warehouse_id", "warehouse_code", "on_hand")
        return 200, orjson.dumps([dict(zip(keys, r, strict=True)) for r in cur.fetchall()])

    def visible(cur, cid) -> bool:  # noqa: ANN001
        cur.execute(q("SELECT id FROM customers WHERE id = ? AND owner_id = ?"), (cid, sales))
        return cur.fetchone() is not None

    def order(cur, qs, body, _=None):  # noqa: ANN001
        b = orjson.loads(body)
        cid, wid = b["customer_id"], b["warehouse_id"]
        if not visible(cur, cid):
            return 404, b'{"detail":"not found"}'
        cur.execute(q("SELECT id FROM warehouses WHERE id = ?"), (wid,))
        cur.fetchone()
        prices = {}
        for ln in b["lines"]:
            cur.execute(q("SELECT price_cents, cost_cents FROM products WHERE id = ?"), (ln["product_id"],))
            prices[ln["product_id"]] = cur.fetchone()[0]
        amounts = [ln["qty"] * prices[ln["product_id"]] for ln in b["lines"]]
        total = sum(amounts)
        for ln in sorted(b["lines"], key=lambda x: x["product_id"]):
            cur.execute(q("UPDATE stock SET on_hand = on_hand - ? WHERE product_id = ? AND warehouse_id = ? "
                          "AND on_hand >= ?"), (ln["qty"], ln["product_id"], wid, ln["qty"]))
        t = now()
        cur.execute(q("UPDATE customers SET balance_cents = balance_cents + ?, updated_at = ? WHERE id = ? AND "
                      "balance_cents + ? <= credit_limit_cents"), (total, d.ts(t), cid, total))
        oid = d.insert(cur, "INSERT INTO sales_orders (customer_id, warehouse_id, operator_id, total_cents, "
                            "created_at) VALUES (?, ?, ?, ?, ?)", (cid, wid, sales, total, d.ts(t)))
        cur.executemany(q("INSERT INTO stock_moves (product_id, warehouse_id, qty, reason, doc_type, doc_id, "
                          "operator_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                        [(ln["product_id"], wid, -ln["qty"], "sale", "sales_order", oid, sales, d.ts(t))
                         for ln in b["lines"]])
        lines = []
        for ln, amount in zip(b["lines"], amounts, strict=True):
            lid = d.insert(cur, "INSERT INTO sales_order_lines (order_id, product_id, qty, unit_price_cents, "
                                "amount_cents) VALUES (?, ?, ?, ?, ?)",
                           (oid, ln["product_id"], ln["qty"], prices[ln["product_id"]], amount))
            lines.append({"id": lid, **ln, "amount": amount})
        return 201, orjson.dumps({"id": oid, "customer_id": cid, "total": total, "created_at": t, "lines": lines})

    def payment(cur, qs, body, _=None):  # noqa: ANN001
        b = orjson.loads(body)
        if not visible(cur, b["customer_id"]):
            return 404, b'{"detail":"not found"}'
        cents = round(float(b["amount"]) * 100)
        t = now()
        cur.execute(q("UPDATE customers SET balance_cents = balance_cents - ?, updated_at = ? WHERE id = ?"),
                    (cents, d.ts(t), b["customer_id"]))
        pid = d.insert(cur, "INSERT INTO payments (customer_id, operator_id, amount_cents, created_at) "
                            "VALUES (?, ?, ?, ?)", (b["customer_id"], sales, cents, d.ts(t)))
        return 201, orjson.dumps({"id": pid, "customer_id": b["customer_id"], "amount": b["amount"], "created_at": t})

    def customer_create(cur, qs, body, _=None):  # noqa: ANN001
        b = orjson.loads(body)
        cur.execute(q("UPDATE operators SET customer_count = customer_count + 1 WHERE id = ? AND "
                      "customer_count < customer_quota"), (sales,))
        t = d.ts(now())
        code = "C" + uuid.uuid4().hex[:16].upper()
        cid = d.insert(cur, "INSERT INTO customers (code, name, phone, region, level, credit_limit_cents, "
                            "balance_cents, owner_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (code, b["name"], b["phone"], b["region"], "regular", 5_000_000, 0, sales, t, t))
        return 201, orjson.dumps({"id": cid, "code": code, **b, "owner_id": sales, "created_at": t})

    def customer_edit(cur, qs, body, cid):  # noqa: ANN001
        b = orjson.loads(body)
        if not visible(cur, cid):
            return 404, b'{"detail":"not found"}'
        cur.execute(q("UPDATE customers SET address = ?, level = ?, updated_at = ? WHERE id = ?"),
                    (b["address"], b["level"], d.ts(now()), cid))
        cur.execute(q(f"SELECT {CUSTOMER_COLS} FROM customers WHERE id = ?"), (cid,))
        return 200, orjson.dumps(customer(cur.fetchone()), default=str)

    def po_create(cur, qs, body, _=None):  # noqa: ANN001
        b = orjson.loads(body)
        cur.execute(q("SELECT id FROM suppliers WHERE id = ?"), (b["supplier_id"],))
        cur.fetchone()
        cur.execute(q("SELECT id FROM warehouses WHERE id = ?"), (b["warehouse_id"],))
        cur.fetchone()
        costs = {}
        for ln in b["lines"]:
            cur.execute(q("SELECT price_cents, cost_cents FROM products WHERE id = ?"), (ln["product_id"],))
            costs[ln["product_id"]] = cur.fetchone()[1]
        amounts = [ln["qty"] * costs[ln["product_id"]] for ln in b["lines"]]
        t = d.ts(now())
        oid = d.insert(cur, "INSERT INTO purchase_orders (supplier_id, warehouse_id, operator_id, status, "
                            "total_cents, created_at) VALUES (?, ?, ?, ?, ?, ?)",
                       (b["supplier_id"], b["warehouse_id"], clerk, "open", sum(amounts), t))
        lines = []
        for ln, amount in zip(b["lines"], amounts, strict=True):
            lid = d.insert(cur, "INSERT INTO purchase_order_lines (order_id, product_id, qty, unit_cost_cents, "
                                "amount_cents) VALUES (?, ?, ?, ?, ?)",
                           (oid, ln["product_id"], ln["qty"], costs[ln["product_id"]], amount))
            lines.append({"id": lid, **ln, "amount": amount})
        return 201, orjson.dumps({"id": oid, "status": "open", "created_at": t, "lines": lines})

    def po_receive(cur, qs, body, oid):  # noqa: ANN001
        t = d.ts(now())
        cur.execute(q("UPDATE purchase_orders SET status = 'received', received_at = ? WHERE id = ? AND "
                      "status = 'open'"), (t, oid))
        flipped = cur.rowcount
        cur.execute(q("SELECT id, supplier_id, warehouse_id, operator_id, status, total_cents, created_at, "
                      "received_at FROM purchase_orders WHERE id = ?"), (oid,))
        po = cur.fetchone()
        if not flipped:
            return 409, b'{"detail":"already received"}'
        cur.execute(q("SELECT id, order_id, product_id, qty, unit_cost_cents, amount_cents FROM purchase_order_lines "
                      "WHERE order_id = ? ORDER BY id"), (oid,))
        lines = cur.fetchall()
        for ln in sorted(lines, key=lambda r: r[2]):
            cur.execute(q("UPDATE stock SET on_hand = on_hand + ? WHERE product_id = ? AND warehouse_id = ?"),
                        (ln[3], ln[2], po[2]))
        cur.executemany(q("INSERT INTO stock_moves (product_id, warehouse_id, qty, reason, doc_type, doc_id, "
                          "operator_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                        [(ln[2], po[2], ln[3], "purchase_receipt", "purchase_order", oid, clerk, t) for ln in lines])
        return 200, orjson.dumps({"id": oid, "status": "received", "lines": [list(ln) for ln in lines]}, default=str)

    del manager
    return {  # (method, path prefix): (write?, handler)
        ("GET", "/customers/search"): (False, search),
        ("GET", "/customers/export"): (False, export_csv),
        ("GET", "/customers/"): (False, view),
        ("PATCH", "/customers/"): (True, customer_edit),
        ("GET", "/customers"): (False, page),
        ("GET", "/customers-total"): (False, page_total),
        ("POST", "/customers"): (True, customer_create),
        ("GET", "/stock"): (False, stock),
        ("GET", "/products"): (False, products),
        ("GET", "/reports/top-customers"): (False, top),
        ("GET", "/reports/receivables-aging"): (False, aging),
        ("GET", "/reports/stock-levels"): (False, levels),
        ("POST", "/sales-orders"): (True, order),
        ("POST", "/payments"): (True, payment),
        ("POST", "/purchase-orders/"): (True, po_receive),
        ("POST", "/purchase-orders"): (True, po_create),
    }


def create_raw_app():
    """The raw-driver floor: same queries, the same thread hop as the app (its worker threads), orjson,
    no framework."""
    from urllib.parse import parse_qsl

    from reference_app.api.workers import WORKERS

    WORKERS.ensure(20)
    driver = RawDriver(os.environ["JXC_DATABASE_URL"])
    ids = {k: int(os.environ[f"JXC_BENCH_{k.upper()}_ID"]) for k in ("sales", "manager", "clerk")}
    handlers = raw_handlers(driver, ids)
    routes = sorted(handlers, key=lambda k: -len(k[1]))  # longest prefix first

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            return await _lifespan(receive, send, driver.close)
        path = scope["path"].removeprefix("/api/v1")
        if path == "/healthz":
            return await _answer(send, 200, b'{"status":"ok"}')
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        qs = dict(parse_qsl(scope["query_string"].decode()))
        if path == "/customers" and qs.get("with_total") == "true":
            path = "/customers-total"
        for method, prefix in routes:
            if scope["method"] == method and path.startswith(prefix):
                write, fn = handlers[(method, prefix)]
                tail = path[len(prefix):].split("/")[0]
                arg = int(tail) if tail.isdigit() else None
                status, out = await WORKERS.run(driver.run, lambda c: fn(c, qs, body, arg), write)
                return await _answer(send, status, out)
        await _answer(send, 404, b'{"detail":"no route"}')

    return app


# ============================================================================ seeding
def seed(url: str, customers: int, open_pos: int) -> dict:
    """A small book: a sales operator owning every customer (team "bench"), its manager, a clerk and an
    admin; 2 warehouses, 50 products with deep stock, a supplier, 3 orders (spread over 120 days, so the
    aging buckets all have rows) for every 4th customer, and ``open_pos`` open purchase orders to receive."""
    from sqlalchemy import insert, select

    from reference_app.db import make_engine
    from reference_app.models import (
        Customer, Operator, Product, PurchaseOrder, PurchaseOrderLine, SalesOrder, SalesOrderLine, Stock, Supplier,
        Warehouse, utcnow,
    )
    from reference_app.schema import create_schema, get_meta, has_schema
    from reference_app.security import TokenClaims, create_token, hash_password

    engine = make_engine(url)
    try:
        if has_schema(engine):
            sys.exit(f"error: {url}: already holds a jxcbench schema; give an empty database")
        create_schema(engine, "basic")
        now = utcnow()
        out: dict = {"ids": {}, "tokens": {}}
        with engine.begin() as conn:
            pw = hash_password("bench-password")
            for role, team in (("sales", "bench"), ("manager", "bench"), ("clerk", None), ("admin", None)):
                out["ids"][role] = conn.execute(insert(Operator).values(
                    username=f"bench_{role}", password_hash=pw, role=role, team=team, customer_quota=10**9,
                    customer_count=customers if role == "sales" else 0)).inserted_primary_key[0]
            out["warehouses"] = [conn.execute(insert(Warehouse).values(code=f"BW{i}", name=f"bench {i}"))
                                 .inserted_primary_key[0] for i in range(2)]
            out["supplier"] = conn.execute(insert(Supplier).values(code="BS", name="bench")).inserted_primary_key[0]
            conn.execute(insert(Product), [dict(sku=f"BP{i:03d}", name=f"商品{i:03d}", category="c", unit="pc",
                                                price_cents=150 + i, cost_cents=100, created_at=now)
                                           for i in range(50)])
            out["products"] = list(conn.execute(select(Product.id).order_by(Product.id)).scalars())
            conn.execute(insert(Stock), [dict(product_id=p, warehouse_id=w, on_hand=10**9)
                                         for p in out["products"] for w in out["warehouses"]])
            for start in range(0, customers, 1000):
                conn.execute(insert(Customer), [
                    dict(code=f"B{i:09d}", name=f"客户{i:07d}", phone=f"139{i:08d}", region="bench", level="regular",
                         credit_limit_cents=10**12, balance_cents=450 if i % 4 == 0 else 0,
                         owner_id=out["ids"]["sales"], created_at=now, updated_at=now)
                    for i in range(start, min(start + 1000, customers))])
            out["customers"] = list(conn.execute(select(Customer.id).order_by(Customer.id)).scalars())
            # Orders without stock moves: the audit is not the point here, the request paths are.
            wid, pid, sales = out["warehouses"][0], out["products"][0], out["ids"]["sales"]
            for cid in out["customers"][::4]:
                for k in range(3):
                    oid = conn.execute(insert(SalesOrder).values(
                        customer_id=cid, warehouse_id=wid, operator_id=sales, total_cents=50 * (k + 1),
                        created_at=now - dt.timedelta(days=40 * k))).inserted_primary_key[0]
                    conn.execute(insert(SalesOrderLine).values(order_id=oid, product_id=pid, qty=k + 1,
                                                               unit_price_cents=50, amount_cents=50 * (k + 1)))
            for start in range(0, open_pos, 2000):
                n = min(2000, open_pos - start)
                conn.execute(insert(PurchaseOrder), [dict(
                    supplier_id=out["supplier"], warehouse_id=wid, operator_id=out["ids"]["clerk"], status="open",
                    total_cents=1000, created_at=now) for _ in range(n)])
            pos = list(conn.execute(select(PurchaseOrder.id).order_by(PurchaseOrder.id)).scalars())
            for start in range(0, len(pos), 2000):
                conn.execute(insert(PurchaseOrderLine), [dict(
                    order_id=o, product_id=out["products"][o % 50], qty=10, unit_cost_cents=100, amount_cents=1000)
                    for o in pos[start:start + 2000]])
            out["open_pos"] = pos
            secret = get_meta(conn, "secret_key")
        for role in ("sales", "manager", "clerk", "admin"):
            out["tokens"][role] = create_token(secret, TokenClaims(out["ids"][role], role,
                                                                   "bench" if role in ("sales", "manager") else None))
        return out
    finally:
        engine.dispose()


# ============================================================================ the requests
def requests_for(book: dict, po_ids) -> dict:  # noqa: ANN001 - po_ids: a shared iterator
    """Per endpoint: (role whose token to send, fn(rng) -> (method, path, json body or None))."""
    import orjson

    cust, prods, whs = book["customers"], book["products"], book["warehouses"]

    def lines(rng, lo, hi, qty):  # noqa: ANN001, ANN202
        return [{"product_id": p, "qty": rng.randint(*qty)} for p in {rng.choice(prods) for _ in range(rng.randint(lo, hi))}]

    def search_q(rng) -> str:  # noqa: ANN001 - as the workload does: 2 name characters or 4 phone digits
        i = rng.randrange(len(cust))
        return f"{i:08d}"[-4:] if rng.random() < 0.5 else f"{i:07d}"[rng.randrange(6):][:2]

    def j(obj) -> bytes:  # noqa: ANN001
        return orjson.dumps(obj)

    return {
        "customer_search": ("sales", lambda r: ("GET", f"/customers/search?q={search_q(r)}&limit=20", None)),
        "customer_list": ("sales", lambda r: ("GET", f"/customers?after={r.choice(cust) - 1}&limit=20", None)),
        "customer_view": ("sales", lambda r: ("GET", f"/customers/{r.choice(cust)}", None)),
        "customer_create": ("sales", lambda r: ("POST", "/customers", j({
            "name": f"LT客户{r.randrange(10**8):08d}", "phone": f"1{r.randrange(10**10):010d}", "region": "华东",
            "credit_limit": "50000.00"}))),
        "customer_edit": ("sales", lambda r: ("PATCH", f"/customers/{r.choice(cust)}", j({
            "address": f"测试路{r.randrange(1, 999)}号", "level": r.choice(["regular", "vip"])}))),
        "sales_order_create": ("sales", lambda r: ("POST", "/sales-orders", j({
            "customer_id": r.choice(cust), "warehouse_id": r.choice(whs), "lines": lines(r, 1, 3, (1, 3))}))),
        "payment_create": ("sales", lambda r: ("POST", "/payments", j({
            "customer_id": r.choice(cust), "amount": f"{r.randint(1, 500)}.{r.randint(0, 99):02d}"}))),
        "stock_check": ("clerk", lambda r: ("GET", f"/stock?product_id={r.choice(prods)}", None)),
        "product_browse": ("clerk", lambda r: ("GET", "/products?limit=20" + (
            f"&after={r.choice(prods)}" if r.random() < 0.5 else ""), None)),
        "purchase_order_create": ("clerk", lambda r: ("POST", "/purchase-orders", j({
            "supplier_id": book["supplier"], "warehouse_id": r.choice(whs), "lines": lines(r, 1, 4, (10, 100))}))),
        "purchase_order_receive": ("clerk", lambda r: ("POST", f"/purchase-orders/{next(po_ids)}/receive", None)),
        "report_top_customers": ("manager", lambda r: ("GET", f"/reports/top-customers?days={r.choice([7, 30, 90])}"
                                                              "&limit=10", None)),
        "report_receivables_aging": ("manager", lambda r: ("GET", "/reports/receivables-aging", None)),
        "report_stock_levels": ("manager", lambda r: ("GET", f"/reports/stock-levels?warehouse_id={r.choice(whs)}"
                                                             "&limit=50", None)),
        "customer_list_total": ("admin", lambda r: ("GET", f"/customers?after={r.choice(cust) - 1}&limit=20"
                                                           "&with_total=true", None)),
        "customer_export_csv": ("admin", lambda r: ("GET", "/customers/export?format=csv", None)),
    }


# ============================================================================ servers and client
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(target: str, env: dict[str, str], pythonpath: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1", "--port", str(port),
           "--workers", "1", "--no-access-log", "--log-level", "warning", "--app-dir", str(ROOT / "bench")]
    # cwd is sys.path[0] under ``python -m``: it must be the tree whose reference_app is meant.
    proc = subprocess.Popen(cmd, env={**os.environ, **env, "PYTHONPATH": pythonpath}, cwd=pythonpath,
                            preexec_fn=lambda: os.sched_setaffinity(0, SERVER_CPU))
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return proc, port
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(proc)
            sys.exit(f"error: server {target} did not come up")
        time.sleep(0.1)


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _connection(port: int, make, headers: bytes, stop_at: float, counts: dict, rng: random.Random) -> None:  # noqa: ANN001
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop_at:
            method, path, body = make(rng)
            head = f"{method} /api/v1{path} HTTP/1.1\r\nHost: bench\r\n".encode() + headers
            if body is not None:
                head += b"Content-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n"
            writer.write(head + b"\r\n" + (body or b""))
            answer = await reader.readuntil(b"\r\n\r\n")
            length, chunked = 0, False
            for line in answer.split(b"\r\n"):
                low = line.lower()
                if low.startswith(b"content-length:"):
                    length = int(line[15:])
                elif low.startswith(b"transfer-encoding:") and b"chunked" in low:
                    chunked = True
            if chunked:  # a streamed answer (the export)
                while True:
                    size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
            else:
                await reader.readexactly(length)
            status = int(answer[9:12])
            counts[status] = counts.get(status, 0) + 1
    finally:
        writer.close()


def drive(proc: subprocess.Popen, port: int, make, token: str, seconds: float, connections: int,  # noqa: ANN001
          warmup: float = 0.3) -> dict:
    """Warm up, then count answers and the server's CPU over ``seconds``."""
    headers = f"Authorization: Bearer {token}\r\n".encode()

    async def run(duration: float) -> dict:
        counts: dict = {}
        stop_at = time.perf_counter() + duration
        await asyncio.gather(*[_connection(port, make, headers, stop_at, counts, random.Random())
                               for _ in range(connections)])
        return counts

    asyncio.run(run(warmup))
    cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
    counts = asyncio.run(run(seconds))
    cpu, elapsed = cpu_seconds(proc.pid) - cpu0, time.perf_counter() - t0
    n = sum(counts.values())
    ok = sum(v for k, v in counts.items() if k < 300)
    return {"requests": n, "rps": n / elapsed, "cpu_us": 1e6 * cpu / max(n, 1), "server_cpu_pct": 100 * cpu / elapsed,
            "other": {k: v for k, v in counts.items() if k >= 300}, "ok": ok}


# ============================================================================ scratch databases
def scratch_database(url: str) -> tuple[str, object]:
    """A new empty database on ``url``'s server (or a temporary SQLite file): (its URL, a cleanup)."""
    from sqlalchemy import create_engine, make_url, text

    from reference_app.db import backend_of, normalise_url

    if backend_of(url) == "sqlite":
        tmp = tempfile.mkdtemp(prefix="jxc-overhead-")
        return f"sqlite:///{tmp}/bench.sqlite", lambda: shutil.rmtree(tmp, ignore_errors=True)
    u = normalise_url(make_url(url))
    name = f"jxcbench_overhead_{uuid.uuid4().hex[:10]}"
    admin = create_engine(u, isolation_level="AUTOCOMMIT")
    pg = backend_of(url) == "postgresql"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0" if pg else
                          f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)' if pg else
                              f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()

    return u.set(database=name).render_as_string(hide_password=False), drop


class Snapshot:
    """The seeded book, put back before every round, so that each round's reads see the same book
    (writes of earlier rounds would otherwise grow what the reports scan, round after round)."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine, make_url, text

        from reference_app.db import backend_of, normalise_url
        from reference_app.models import TABLES

        self.url, self.backend = url, backend_of(url)
        self.text, self.tables = text, [t.name for t in TABLES]
        if self.backend == "sqlite":
            self.path = make_url(url).database
            shutil.copyfile(self.path, self.path + ".snap")  # the seeding engine is disposed: no WAL left
            return
        u = normalise_url(make_url(url))
        self.db, self.snap = u.database, u.database + "_snap"
        self.admin = create_engine(u.set(database="postgres") if self.backend == "postgresql" else u,
                                   isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            if self.backend == "postgresql":
                conn.execute(text(f'CREATE DATABASE "{self.snap}" TEMPLATE "{self.db}"'))
            else:
                conn.execute(text(f"CREATE DATABASE `{self.snap}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
                for t in self.tables:
                    conn.execute(text(f"CREATE TABLE `{self.snap}`.`{t}` LIKE `{self.db}`.`{t}`"))
                    conn.execute(text(f"INSERT INTO `{self.snap}`.`{t}` SELECT * FROM `{self.db}`.`{t}`"))

    def restore(self) -> None:
        """Put the seeded book back (no server may be connected)."""
        text = self.text
        if self.backend == "sqlite":
            for suffix in ("-wal", "-shm"):
                Path(self.path + suffix).unlink(missing_ok=True)
            shutil.copyfile(self.path + ".snap", self.path)
            return
        with self.admin.connect() as conn:
            if self.backend == "postgresql":
                conn.execute(text(f'DROP DATABASE "{self.db}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{self.db}" TEMPLATE "{self.snap}"'))
                return
            conn.execute(text("SET FOREIGN_KEY_CHECKS = 0"))
            for t in self.tables:
                conn.execute(text(f"DELETE FROM `{self.db}`.`{t}`"))
                conn.execute(text(f"INSERT INTO `{self.db}`.`{t}` SELECT * FROM `{self.snap}`.`{t}`"))
            conn.execute(text("SET FOREIGN_KEY_CHECKS = 1"))

    def drop(self) -> None:
        text = self.text
        if self.backend == "sqlite":
            Path(self.path + ".snap").unlink(missing_ok=True)
            return
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.snap}" WITH (FORCE)' if self.backend == "postgresql"
                              else f"DROP DATABASE IF EXISTS `{self.snap}`"))
        self.admin.dispose()


def export_baseline(rev: str, dest: str) -> str:
    """The reference app of ``rev`` in ``dest``, by ``git archive`` (no worktree metadata)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "reference_app"],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        sys.exit(f"error: --baseline-rev {rev}: {archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", dest], input=archive.stdout, check=True)
    sha = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], capture_output=True, text=True)
    return sha.stdout.strip() or rev


# ============================================================================ main
def main() -> None:
    global SERVER_CPU, CLIENT_CPU
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="a PostgreSQL/MariaDB server URL (a throwaway database is made beside it); "
                                 "default: a temporary SQLite file")
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=2.0, help="measured seconds per endpoint and kind")
    ap.add_argument("--connections", type=int, default=8, help="concurrent keep-alive client connections")
    ap.add_argument("--rounds", type=int, default=2, help="times each kind is measured (kinds alternate)")
    ap.add_argument("--baseline-rev", default=DEFAULT_BASELINE, help="git revision of the 'before' app")
    ap.add_argument("--no-baseline", action="store_true")
    ap.add_argument("--endpoints", help="comma-separated subset (default: all)")
    args = ap.parse_args()
    names = args.endpoints.split(",") if args.endpoints else list(OPERATIONS)
    names.sort(key=lambda n: n in WRITES)  # reads first: they then all see the seeded book
    unknown = set(names) - set(OPERATIONS)
    if unknown or not (100 <= args.customers <= 1_000_000 and 0.5 <= args.seconds <= 600
                       and 1 <= args.connections <= 256 and 1 <= args.rounds <= 20):
        sys.exit(f"error: unknown endpoints {sorted(unknown)}" if unknown else
                 "error: --customers 100..1e6, --seconds 0.5..600, --connections 1..256, --rounds 1..20")
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2:
        SERVER_CPU, CLIENT_CPU = {cpus[-1]}, set(cpus[:-1])
        os.sched_setaffinity(0, CLIENT_CPU)
    else:
        SERVER_CPU = CLIENT_CPU = set(cpus)
    kinds = {"hello": ("app_overhead:create_hello_app", str(ROOT)),
             "raw": ("app_overhead:create_raw_app", str(ROOT)),
             "app": ("reference_app.main:create_app", str(ROOT))}
    tmp_base = None
    url, drop = scratch_database(args.db or "sqlite://")
    procs: list[subprocess.Popen] = []
    snapshot = None
    try:
        baseline_sha = None
        if not args.no_baseline:
            tmp_base = tempfile.mkdtemp(prefix="jxc-baseline-")
            baseline_sha = export_baseline(args.baseline_rev, tmp_base)
            kinds["baseline"] = ("reference_app.main:create_app", tmp_base)
        # Every receipt needs an order still open: a generous 5,000 receipts/s for each kind but hello
        # (the book, open orders included, is put back before each round).
        open_pos = int(5000 * (args.seconds + 0.3) * (len(kinds) - 1)) if "purchase_order_receive" in names else 0
        book = seed(url, args.customers, open_pos)
        snapshot = Snapshot(url)
        env = {"JXC_DATABASE_URL": url, "JXC_POOL_SIZE": "10", "JXC_MAX_OVERFLOW": "10",
               **{f"JXC_BENCH_{k.upper()}_ID": str(v) for k, v in book["ids"].items()}}
        results: dict[str, dict[str, list[dict]]] = {k: {n: [] for n in names} for k in kinds}
        loads = []
        for rnd in range(args.rounds):
            # All kinds up at once (an idle server costs nothing), each endpoint driven against every
            # kind in turn: the writes of one endpoint grow the book for the next, but equally for
            # every kind (and reads come first). The order of kinds alternates between rounds.
            snapshot.restore()
            po_ids = itertools.chain(book["open_pos"], itertools.repeat(book["open_pos"][-1] if open_pos else 1))
            reqs = {kind: requests_for(book, itertools.repeat(1) if kind == "hello" else po_ids) for kind in kinds}
            loads.append(os.getloadavg()[0])
            servers = {}
            try:
                for kind, (target, path) in kinds.items():
                    servers[kind] = start_server(target, env, path)
                    procs.append(servers[kind][0])
                for i, name in enumerate(names):
                    for kind in (list(kinds) if rnd % 2 == 0 else list(kinds)[::-1]):
                        if kind == "baseline" and name in NEW_ENDPOINTS:
                            continue
                        role, make = reqs[kind][name]
                        proc, port = servers[kind]
                        # The first endpoint of a fresh server also warms its pool up (connections are
                        # made on demand, expensive on MariaDB).
                        results[kind][name].append(drive(proc, port, make, book["tokens"][role], args.seconds,
                                                         args.connections, warmup=2.0 if i == 0 else 0.3))
            finally:
                for proc, _ in servers.values():
                    stop_server(proc)
        report(args, url, baseline_sha, names, results, loads)
    finally:
        for proc in procs:
            stop_server(proc)
        try:
            if snapshot is not None:
                snapshot.drop()
        finally:
            drop()
        if tmp_base:
            shutil.rmtree(tmp_base, ignore_errors=True)


def report(args, url: str, baseline_sha: str | None, names: list[str], results: dict, loads: list[float]) -> None:  # noqa: ANN001
    from reference_app.db import backend_of

    weights = mix_weights()
    kinds = list(results)
    print(f"app_overhead: {backend_of(url)}, {args.customers} customers, uvicorn 1 worker on CPU {sorted(SERVER_CPU)}, "
          f"client on CPU {sorted(CLIENT_CPU)}, {args.connections} connections, {args.seconds:g} s per endpoint x "
          f"{args.rounds} rounds; baseline = {baseline_sha or 'none'}; load avg at starts "
          f"{min(loads):.2f}..{max(loads):.2f}")
    print("server CPU µs per request (median of rounds; spread = (max-min)/median); ratios: app/raw = app req/s per "
          "core over the raw-driver floor's, app/base = CPU per request now over before")
    head = f"  {'endpoint':<26}{'weight':>7}" + "".join(f"{k:>10}" for k in kinds) + f"{'app/raw':>9}{'app/base':>9}  notes"
    print(head)
    med = {k: {} for k in kinds}
    for name in names:
        notes = []
        for k in kinds:
            runs = results[k][name]
            if not runs or all(r["ok"] == 0 for r in runs):
                med[k][name] = None
                continue
            vals = [r["cpu_us"] for r in runs]
            med[k][name] = statistics.median(vals)
            spread = (max(vals) - min(vals)) / med[k][name]
            if spread > 0.10:
                notes.append(f"{k} spread {spread:.0%}")
            other = {}
            for r in runs:
                for s, n in r["other"].items():
                    other[s] = other.get(s, 0) + n
            if other:
                notes.append(f"{k} non-2xx {other}")
        row = f"  {name:<26}{weights[name]:>7.3f}"
        row += "".join(f"{med[k][name]:>10.0f}" if med[k][name] else f"{'n/a':>10}" for k in kinds)
        app, raw, base = med["app"].get(name), med.get("raw", {}).get(name), med.get("baseline", {}).get(name)
        row += f"{raw / app:>9.2f}" if app and raw else f"{'':>9}"
        row += f"{app / base:>9.2f}" if app and base else f"{'':>9}"
        print(row + ("  " + "; ".join(notes) if notes else ""))
    mixed = [n for n in names if weights[n] > 0]
    if mixed:
        total_w = sum(weights[n] for n in mixed)
        mix = {k: (sum(weights[n] * med[k][n] for n in mixed) / total_w
                   if all(med[k].get(n) for n in mixed) else None) for k in kinds}
        row = f"  {'default mix (weighted)':<26}{total_w:>7.3f}"
        row += "".join(f"{mix[k]:>10.0f}" if mix[k] else f"{'n/a':>10}" for k in kinds)
        if mix.get("raw") and mix.get("app"):
            row += f"{mix['raw'] / mix['app']:>9.2f}"
        if mix.get("baseline") and mix.get("app"):
            row += f"{mix['app'] / mix['baseline']:>9.2f}"
        print(row)
        if mix.get("baseline") and mix.get("app"):
            print(f"  mix CPU per request: {mix['app']:.0f} µs now vs {mix['baseline']:.0f} µs before "
                  f"({mix['baseline'] / mix['app']:.2f}x less; target >= 2x: "
                  f"{'met' if mix['app'] <= mix['baseline'] / 2 else 'NOT met'})")
    if med["app"].get("customer_view") and med.get("raw", {}).get("customer_view"):
        r = med["raw"]["customer_view"] / med["app"]["customer_view"]
        print(f"  customer view: app = {r:.2f} x the raw-driver floor in req/s per core (target >= 0.2, goal >= 0.3)")


if __name__ == "__main__":
    main()
