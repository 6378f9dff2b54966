"""tinyjxc: a deliberately small third-party JXC web app, the example of sizing "your own system".

Not the reference app and not built on it: the standard library's ``http.server`` and ``sqlite3``,
no framework, no import of jxcbench. It keeps customers, products and sales orders in one SQLite
file and answers JSON:

    GET  /health                       200 once the database is open
    GET  /customers?q=TEXT             customers whose name contains TEXT (a full scan: the cost
                                       grows with the book, which is what makes its capacity finite)
    GET  /customers/<id>               one customer with its order count
    POST /orders  {"customer_id", "product_id", "qty"}   a sales order (201)
    POST /operators {"username", "password"}             an operator account (201; 409 if it exists)
    POST /login   {"username", "password"}               {"token": ...} (401 for a wrong login)
    GET  /me      (Authorization: Bearer TOKEN)          who is logged in (401 without a valid token)

Run: ``python app.py --db tiny.db --port 8080``.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

SCHEMA = """
CREATE TABLE IF NOT EXISTS customer (id INTEGER PRIMARY KEY, name TEXT NOT NULL, phone TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS product (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sales_order (id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customer(id),
    product_id INTEGER NOT NULL REFERENCES product(id), qty INTEGER NOT NULL, amount REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sales_order_customer ON sales_order(customer_id);
CREATE TABLE IF NOT EXISTS operator (id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, password TEXT NOT NULL,
    logins INTEGER NOT NULL DEFAULT 0);
"""

_local = threading.local()
_tokens: dict[str, str] = {}  # token -> username, for the life of the process


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.executescript(SCHEMA)
    return conn


class Handler(BaseHTTPRequestHandler):
    db_path = "tiny.db"
    protocol_version = "HTTP/1.1"  # keep-alive, as a browser or Locust's client expects

    def log_message(self, *args) -> None:  # one line per request would cost more than the request
        pass

    def db(self) -> sqlite3.Connection:
        conn = getattr(_local, "conn", None)
        if conn is None:
            conn = _local.conn = connect(self.db_path)
        return conn

    def send(self, status: int, body: object) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/me":
            auth = self.headers.get("Authorization") or ""
            user = _tokens.get(auth.removeprefix("Bearer ").strip())
            return self.send(200, {"username": user}) if user else self.send(401, {"error": "not logged in"})
        if url.path == "/health":
            self.db().execute("SELECT 1")
            return self.send(200, {"ok": True})
        if url.path == "/customers":
            q = (parse_qs(url.query).get("q") or [""])[0]
            rows = self.db().execute("SELECT id, name, phone FROM customer WHERE name LIKE ? ORDER BY id LIMIT 20",
                                     (f"%{q}%",)).fetchall()
            return self.send(200, [{"id": r[0], "name": r[1], "phone": r[2]} for r in rows])
        m = re.fullmatch(r"/customers/(\d+)", url.path)
        if m:
            row = self.db().execute("SELECT c.id, c.name, (SELECT count(*) FROM sales_order o WHERE o.customer_id = c.id) "
                                    "FROM customer c WHERE c.id = ?", (int(m.group(1)),)).fetchone()
            if row is None:
                return self.send(404, {"error": "no such customer"})
            return self.send(200, {"id": row[0], "name": row[1], "orders": row[2]})
        self.send(404, {"error": "not found"})

    def do_POST(self) -> None:
        path = urlparse(self.path).path
        if path in ("/operators", "/login"):
            return self.account(path)
        if path != "/orders":
            return self.send(404, {"error": "not found"})
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            cid, pid, qty = int(body["customer_id"]), int(body["product_id"]), int(body["qty"])
        except (ValueError, KeyError, TypeError):
            return self.send(400, {"error": "customer_id, product_id and qty are required integers"})
        conn = self.db()
        price = conn.execute("SELECT price FROM product WHERE id = ?", (pid,)).fetchone()
        if price is None or conn.execute("SELECT 1 FROM customer WHERE id = ?", (cid,)).fetchone() is None:
            return self.send(404, {"error": "no such customer or product"})
        with conn:
            cur = conn.execute("INSERT INTO sales_order (customer_id, product_id, qty, amount) VALUES (?, ?, ?, ?)",
                               (cid, pid, qty, qty * price[0]))
        self.send(201, {"id": cur.lastrowid, "amount": qty * price[0]})

    def account(self, path: str) -> None:
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            username, password = str(body["username"]), str(body["password"])
        except (ValueError, KeyError, TypeError):
            return self.send(400, {"error": "username and password are required"})
        conn = self.db()
        if path == "/operators":
            try:
                with conn:
                    conn.execute("INSERT INTO operator (username, password) VALUES (?, ?)", (username, password))
            except sqlite3.IntegrityError:
                return self.send(409, {"error": "operator exists"})
            return self.send(201, {"username": username})
        row = conn.execute("SELECT password FROM operator WHERE username = ?", (username,)).fetchone()
        if row is None or row[0] != password:
            return self.send(401, {"error": "wrong username or password"})
        with conn:
            conn.execute("UPDATE operator SET logins = logins + 1 WHERE username = ?", (username,))
        token = secrets.token_hex(16)
        _tokens[token] = username
        self.send(200, {"token": token})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="tiny.db")
    ap.add_argument("--port", type=int, default=8080)
    a = ap.parse_args()
    connect(a.db).close()
    Handler.db_path = a.db
    server = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    server.daemon_threads = True
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
