"""How much does the reference app cost over a bare ASGI handler doing the same database work?

In one run: seed a small database (SQLite in a temporary directory by default, or ``--db URL`` of an
*empty* database), then serve it twice with the same uvicorn (1 worker, no access log):

* ``app``:  the reference app, ``GET /api/v1/customers/{id}`` (auth, scoping, ORM, pydantic);
* ``bare``: a raw ASGI callable (no FastAPI, no Starlette) that runs the same two queries (the
  customer, scoped to its owner; its 5 newest orders) through the same engine and driver, in a
  worker thread as any blocking driver must be, and returns JSON by hand.

A small asyncio HTTP/1.1 keep-alive client (cheap, so that it leaves the CPU to the server) drives
each for a fixed time, alternating bare/app runs; it prints requests/s of each and the ratio
app/bare (target >= 0.5). This is a benchmark, not a test: nothing here asserts.

    python bench/app_overhead.py [--db URL] [--customers 2000] [--seconds 5] [--connections 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OWNER = "bench_sales"


# --------------------------------------------------------------------------- the bare ASGI handler
def create_bare_app():
    """A raw ASGI app (uvicorn --factory) serving GET /customers/{id} and /healthz."""
    import anyio.to_thread
    from sqlalchemy import select

    from reference_app.db import make_engine
    from reference_app.models import Customer, SalesOrder

    engine = make_engine(os.environ["JXC_DATABASE_URL"], pool_size=10, max_overflow=10)
    owner_id = int(os.environ["JXC_BENCH_OWNER_ID"])
    customer_q = select(Customer.__table__).where(Customer.id == 0, Customer.owner_id == owner_id)
    cols = [c.name for c in Customer.__table__.c]

    def fetch(cid: int) -> bytes | None:
        with engine.connect() as conn:
            row = conn.execute(
                select(Customer.__table__).where(Customer.id == cid, Customer.owner_id == owner_id)
            ).first()
            if row is None:
                conn.rollback()
                return None
            orders = conn.execute(
                select(SalesOrder.id, SalesOrder.warehouse_id, SalesOrder.total_cents, SalesOrder.created_at)
                .where(SalesOrder.customer_id == cid)
                .order_by(SalesOrder.created_at.desc(), SalesOrder.id.desc())
                .limit(5)
            ).all()
            conn.rollback()
        body = dict(zip(cols, row, strict=True))
        body["recent_orders"] = [dict(o._mapping) for o in orders]
        return json.dumps(body, default=str).encode()

    del customer_q

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    engine.dispose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path = scope["path"]
        status, body = 404, b'{"detail":"not found"}'
        if path == "/healthz":
            status, body = 200, b'{"status":"ok"}'
        elif path.startswith("/customers/"):
            found = await anyio.to_thread.run_sync(fetch, int(path.rsplit("/", 1)[1]))
            if found is not None:
                status, body = 200, found
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    return app


# --------------------------------------------------------------------------- seeding
def seed(url: str, customers: int) -> tuple[int, str, list[int]]:
    """Schema, one salesperson owning ``customers`` customers, 3 orders for every 4th; returns
    (owner id, bearer token, customer ids)."""
    from sqlalchemy import insert, select

    from reference_app.db import make_engine
    from reference_app.models import Customer, Operator, Product, SalesOrder, SalesOrderLine, Warehouse, utcnow
    from reference_app.schema import create_schema, get_meta, has_schema
    from reference_app.security import TokenClaims, create_token, hash_password

    engine = make_engine(url)
    try:
        if has_schema(engine):
            sys.exit(f"error: --db {url}: already holds a jxcbench schema; give an empty database")
        create_schema(engine, "basic")
        now = utcnow()
        with engine.begin() as conn:
            owner_id = conn.execute(insert(Operator).values(
                username=OWNER, password_hash=hash_password("bench-password"), role="sales", team="bench",
                customer_quota=customers, customer_count=customers)).inserted_primary_key[0]
            wid = conn.execute(insert(Warehouse).values(code="BW", name="bench")).inserted_primary_key[0]
            pid = conn.execute(insert(Product).values(sku="BP", name="bench product", category="c", unit="pc",
                                                      price_cents=150, cost_cents=100)).inserted_primary_key[0]
            batch = 1000
            for start in range(0, customers, batch):
                conn.execute(insert(Customer), [
                    dict(code=f"B{i:09d}", name=f"客户{i:07d}", phone=f"139{i:08d}", region="bench", level="regular",
                         credit_limit_cents=10**9, balance_cents=0, owner_id=owner_id, created_at=now, updated_at=now)
                    for i in range(start, min(start + batch, customers))])
            ids = list(conn.execute(select(Customer.id).order_by(Customer.id)).scalars())
            # Orders without stock moves: the audit is not the point here, the read path is.
            for cid in ids[::4]:
                for k in range(3):
                    oid = conn.execute(insert(SalesOrder).values(
                        customer_id=cid, warehouse_id=wid, operator_id=owner_id, total_cents=150 * (k + 1),
                        created_at=now)).inserted_primary_key[0]
                    conn.execute(insert(SalesOrderLine).values(order_id=oid, product_id=pid, qty=k + 1,
                                                               unit_price_cents=150, amount_cents=150 * (k + 1)))
            secret = get_meta(conn, "secret_key")
        token = create_token(secret, TokenClaims(owner_id, "sales", "bench"))
        return owner_id, token, ids
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- servers and client
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(target: str, env: dict[str, str]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", target, "--factory", "--host", "127.0.0.1", "--port", str(port),
           "--workers", "1", "--no-access-log", "--log-level", "warning", "--app-dir", str(ROOT / "bench")]
    proc = subprocess.Popen(cmd, env={**os.environ, **env, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
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


async def _connection(port: int, paths: list[str], headers: bytes, stop_at: float, lat: list[float],
                      errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random()
    try:
        while time.perf_counter() < stop_at:
            req = f"GET {rng.choice(paths)} HTTP/1.1\r\nHost: bench\r\n".encode() + headers + b"\r\n"
            t0 = time.perf_counter()
            writer.write(req)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            lat.append(time.perf_counter() - t0)
            if not head.startswith(b"HTTP/1.1 200"):
                errors.append(int(head[9:12]))
    finally:
        writer.close()


def drive(port: int, paths: list[str], headers: bytes, seconds: float, connections: int) -> dict:
    """Warm up 1 s, then count completed requests for ``seconds``."""
    async def run(duration: float) -> tuple[list[float], list[int]]:
        lat: list[float] = []
        errors: list[int] = []
        stop_at = time.perf_counter() + duration
        await asyncio.gather(*[_connection(port, paths, headers, stop_at, lat, errors) for _ in range(connections)])
        return lat, errors

    asyncio.run(run(1.0))
    t0 = time.perf_counter()
    lat, errors = asyncio.run(run(seconds))
    elapsed = time.perf_counter() - t0
    lat.sort()
    return {"rps": len(lat) / elapsed, "p50_ms": 1000 * lat[len(lat) // 2], "p99_ms": 1000 * lat[int(len(lat) * 0.99)],
            "errors": len(errors)}


# --------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", help="SQLAlchemy URL of an EMPTY database (default: a temporary SQLite file)")
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--seconds", type=float, default=5.0, help="measured seconds per run")
    ap.add_argument("--connections", type=int, default=8, help="concurrent keep-alive client connections")
    ap.add_argument("--rounds", type=int, default=2, help="bare/app run pairs (alternated)")
    args = ap.parse_args()
    if not (1 <= args.customers <= 1_000_000 and 0.5 <= args.seconds <= 600 and 1 <= args.connections <= 256
            and 1 <= args.rounds <= 20):
        sys.exit("error: --customers 1..1e6, --seconds 0.5..600, --connections 1..256, --rounds 1..20")
    tmp = None
    url = args.db
    if url is None:
        tmp = tempfile.mkdtemp(prefix="jxc-overhead-")
        url = f"sqlite:///{tmp}/bench.sqlite"
    procs: list[subprocess.Popen] = []
    try:
        owner_id, token, ids = seed(url, args.customers)
        env = {"JXC_DATABASE_URL": url, "JXC_BENCH_OWNER_ID": str(owner_id), "JXC_POOL_SIZE": "10",
               "JXC_MAX_OVERFLOW": "10"}
        results: dict[str, list[dict]] = {"bare": [], "app": []}
        targets = {"bare": ("app_overhead:create_bare_app", "/customers/{}"),
                   "app": ("reference_app.main:create_app", "/api/v1/customers/{}")}
        headers = f"Authorization: Bearer {token}\r\n".encode()
        for _ in range(args.rounds):
            for name, (target, path) in targets.items():
                proc, port = start_server(target, env)
                procs.append(proc)
                try:
                    paths = [path.format(cid) for cid in ids]
                    results[name].append(drive(port, paths, headers, args.seconds, args.connections))
                finally:
                    stop_server(proc)
        from reference_app.db import backend_of
        print(f"app_overhead: {backend_of(url)}, {args.customers} customers, uvicorn 1 worker, "
              f"{args.connections} keep-alive connections, {args.seconds:g} s x {args.rounds} alternated runs each")
        mean = {}
        for name, label in (("bare", "bare ASGI handler, same queries/engine"),
                            ("app", "reference app GET /api/v1/customers/{id}")):
            runs = results[name]
            mean[name] = statistics.mean(r["rps"] for r in runs)
            per_run = ", ".join(f"{r['rps']:.0f}" for r in runs)
            errs = sum(r["errors"] for r in runs)
            print(f"  {label:<45} {mean[name]:8.0f} req/s  (runs: {per_run}; p50 {runs[-1]['p50_ms']:.2f} ms, "
                  f"p99 {runs[-1]['p99_ms']:.2f} ms; non-200: {errs})")
            spread = (max(r["rps"] for r in runs) - min(r["rps"] for r in runs)) / mean[name]
            if len(runs) > 1 and spread > 0.10:
                print(f"    warning: {name} runs differ by {spread:.0%}; the machine is busy - rerun with more --rounds")
        ratio = mean["app"] / mean["bare"]
        pairs = [a["rps"] / b["rps"] for a, b in zip(results["app"], results["bare"], strict=True)]
        print(f"  ratio app/bare: {ratio:.2f}  (per alternated pair: {', '.join(f'{r:.2f}' for r in pairs)}; "
              f"target >= 0.50: {'met' if ratio >= 0.5 else 'NOT met'})")
    finally:
        for proc in procs:
            stop_server(proc)
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
