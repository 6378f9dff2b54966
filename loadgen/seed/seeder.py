"""Seed, grow in place, resume: ``seed_database(url, customers)``.

How a run goes (every step safe to interrupt):

1. Check the input and the database *before writing anything*: counts, reachability, foreign
   tables, and that the book was seeded with the same seed / quota / history setting.
2. Once per database: the catalogue (products, warehouses, suppliers, opening stock + 'opening'
   ledger rows) and the seeding parameters, in one transaction.
3. Operators for the target size (see :mod:`loadgen.synth.operators`), in one transaction.
4. Customers in chunks. Each chunk — customers, their orders, lines, 'sale' ledger rows, payments,
   the purchase receipts of blocks it starts, stock changes, operators' customer counts and the
   ``seeded_customers`` counter in ``app_meta`` — is one transaction, so a kill leaves a consistent
   book (the audit passes) and the next run continues from the counter.

Ids: the seeder is the only writer while it runs, so it reads ``MAX(id)`` once per table and gives
rows explicit ids after it (PostgreSQL sequences are moved past them in the same chunk). Rows
created by the API before a grow keep their ids; seeded customers are known by the counter, not by
id, and their codes (``C`` + 10 digits) cannot collide with the API's (``C`` + 16 hex digits).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import Engine, inspect, make_url, text

from loadgen import lifeline
from loadgen.errors import JxcError
from loadgen.seed.bulk import BulkWriter, Rows, open_writer
from loadgen.seed.indexes import MARKER, create_bulk_indexes, drop_bulk_indexes
from loadgen.seed.progress import SeedProgress
from loadgen.synth import BLOCK, LEVEL_NAMES, LOADTEST_PASSWORD, WAREHOUSES, assign_owners, operator_rows
from loadgen.synth.catalogue import Catalogue, make_catalogue
from loadgen.synth.customers import CustomerBlock, customer_block
from loadgen.synth.history import History, block_history
from loadgen.workload.staffing import Staffing
from reference_app.db import make_engine
from reference_app.schema import INDEX_LEVELS, create_schema, foreign_tables, has_schema, set_index_level
from reference_app.security import hash_password

DEFAULT_CHUNK = 20_000  # one block: the first (not overlapped) preparation is short
COUNT_TABLES = ["operators", "customers", "products", "warehouses", "suppliers", "stock", "stock_moves",
                "sales_orders", "sales_order_lines", "purchase_orders", "purchase_order_lines", "payments"]
ID_TABLES = ["customers", "sales_orders", "sales_order_lines", "stock_moves", "payments", "purchase_orders",
             "purchase_order_lines"]


@dataclass
class SeedSummary:
    engine: str
    customers: int              # seeded customers in the database now
    added_customers: int        # by this run
    seconds: float              # wall time of this run (checks, load, index builds)
    rows_added: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)   # every row in the database, API-made included
    bytes_on_disk: int = 0
    bytes_per_customer: float = 0.0
    noop: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def _fail(msg: str) -> JxcError:
    return JxcError(msg)


def _check_args(customers, seed, customer_quota, index_level, chunk_customers) -> None:
    if not isinstance(customers, int) or isinstance(customers, bool) or customers <= 0:
        raise _fail(f"--customers must be a positive whole number, not {customers!r}")
    if not isinstance(customer_quota, int) or customer_quota <= 0:
        raise _fail(f"--quota must be a positive whole number, not {customer_quota!r}")
    if not isinstance(seed, int) or seed < 0:
        raise _fail(f"--seed must be a non-negative whole number, not {seed!r}")
    if index_level is not None and index_level not in INDEX_LEVELS:
        raise _fail(f"--index-level must be one of {', '.join(INDEX_LEVELS)}, not {index_level!r}")
    if chunk_customers <= 0:
        raise _fail(f"chunk size must be positive, not {chunk_customers!r}")


def _connect(url: str) -> Engine:
    safe = make_url(url).render_as_string(hide_password=True) if "://" in url else url
    try:
        engine = make_engine(url, pool_size=2, max_overflow=2)
    except Exception as exc:  # noqa: BLE001 - bad URL or driver: one line for the user
        raise _fail(f"--db {safe}: {exc.__class__.__name__}: {str(exc).splitlines()[0]}") from None
    if engine.dialect.name == "sqlite":
        import os

        path = engine.url.database
        if not path or path == ":memory:":
            raise _fail("--db: an in-memory SQLite database cannot be seeded; give a file path")
        parent = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(parent):
            raise _fail(f"--db {safe}: directory {parent} does not exist")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001
        engine.dispose()
        first = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise _fail(f"cannot connect to database {safe}: {first}") from None
    return engine


def _read_meta(engine: Engine) -> dict[str, str]:
    if "app_meta" not in inspect(engine).get_table_names():
        return {}
    with engine.connect() as conn:
        return {k: v for k, v in conn.execute(text("SELECT key, value FROM app_meta"))} if engine.dialect.name != "mysql" \
            else {k: v for k, v in conn.execute(text("SELECT `key`, value FROM app_meta"))}


def _warm_pyarrow() -> None:
    import pyarrow

    pyarrow.array(np.zeros(1))


def _anchor_us(anchor: dt.date) -> int:
    return int((dt.datetime(anchor.year, anchor.month, anchor.day) - dt.datetime(1970, 1, 1)).total_seconds()) * 1_000_000


def seed_database(
    url: str,
    customers: int,
    *,
    seed: int = 42,
    customer_quota: int = 1000,
    index_level: str | None = "basic",
    progress: bool = True,
    history: bool = True,
    anchor: dt.date | None = None,
    chunk_customers: int = DEFAULT_CHUNK,
    staffing: Any = None,
) -> SeedSummary:
    """Bring the database at ``url`` to ``customers`` seeded customers (grow in place; no-op if there).

    ``index_level`` is the level the database ends at (``None``: keep the recorded one, ``basic``
    for a new database).

    ``anchor`` is the day the synthetic history ends (default: today, UTC, at the first seed; kept in
    ``app_meta`` so that a later grow continues the same history). ``history=False`` seeds customers
    without orders (the customers-only benchmark). ``staffing`` (a
    :class:`loadgen.workload.staffing.Staffing` or a profile's ``workload.staffing``) sizes the
    managers, clerks and back office per salesperson (default: the schema's defaults). Raises :class:`JxcError` on bad input, having
    written nothing.
    """
    t0 = time.perf_counter()
    _check_args(customers, seed, customer_quota, index_level, chunk_customers)
    # pyarrow pulls in pandas (~0.4 s) on its first array; let that happen while we connect and check
    threading.Thread(target=_warm_pyarrow, daemon=True).start()
    engine = _connect(url)
    try:
        staff = Staffing.of(staffing).with_quota(customer_quota)
        return _seed(engine, customers, seed, customer_quota, index_level, progress, history, anchor,
                     chunk_customers, t0, staff)
    finally:
        engine.dispose()


def _seed(engine, customers, seed, quota, index_level, progress, history, anchor, chunk, t0, staffing) -> SeedSummary:
    foreign = foreign_tables(engine)
    if foreign:
        raise _fail(f"database holds tables that are not jxcbench's: {', '.join(sorted(foreign))}; "
                    "seed into an empty database or one created by jxcbench")
    meta = _read_meta(engine)
    have = int(meta.get("seeded_customers", 0))
    if have > customers:
        raise _fail(f"database already holds {have} seeded customers, more than --customers {customers}; "
                    "to go back restore a snapshot taken at that size (`jxcbench seed restore --db URL --name NAME`) "
                    "or seed a fresh database")
    for key, want in (("seed_seed", str(seed)), ("seed_quota", str(quota)), ("seed_history", str(int(history)))):
        if key in meta and meta[key] != want:
            opt = {"seed_seed": "--seed", "seed_quota": "--quota", "seed_history": "--no-history"}[key]
            raise _fail(f"database was seeded with {key.removeprefix('seed_')}={meta[key]}, not {want}; "
                        f"grow it with the same {opt} or start from an empty database")
    if index_level is None:
        index_level = meta.get("index_level", "basic")
    if anchor is None:
        anchor = dt.date.fromisoformat(meta["seed_anchor"]) if "seed_anchor" in meta else dt.datetime.now(dt.UTC).date()
    elif "seed_anchor" in meta and meta["seed_anchor"] != anchor.isoformat():
        raise _fail(f"database was seeded with anchor date {meta['seed_anchor']}, not {anchor.isoformat()}")

    if have == customers and MARKER not in meta and meta.get("index_level", "basic") == index_level:
        return _finish(engine, None, customers, 0, {}, t0, noop=True)

    if not has_schema(engine):
        create_schema(engine, "basic")
    # Trigger-maintained (SQLite FTS) and GIN (PostgreSQL trigram) indexes cost far more per row
    # than a rebuild; they come back at the requested level at the end.
    set_index_level(engine, "basic")
    engine.dispose()  # SQLite: the writer below takes the write lock

    writer = open_writer(engine)
    added: dict[str, int] = {}
    try:
        seeder = _Seeder(writer, engine.dialect, seed, quota, history, _anchor_us(anchor), added, staffing)
        seeder.setup(meta, anchor, customers)
        with SeedProgress(enabled=progress, total=customers - have, start=have, target=customers) as bar:
            seeder.grow(have, customers, chunk, bar)
        if seeder.get_meta(MARKER):
            with SeedProgress.spinner(progress, "building indexes"):
                create_bulk_indexes(writer, engine.dialect)
                seeder.del_meta(MARKER)
                writer.commit()
        seeder.analyze()
    finally:
        writer.close()
    set_index_level(engine, index_level)
    return _finish(engine, None, customers, customers - have, added, t0)


def _finish(engine, _writer, customers, added_customers, added, t0, noop=False) -> SeedSummary:
    seconds = time.perf_counter() - t0
    rows = _counts(engine)
    size = _bytes_on_disk(engine)
    return SeedSummary(engine=engine.dialect.name, customers=customers, added_customers=added_customers,
                       seconds=round(seconds, 3), rows_added=added, rows=rows, bytes_on_disk=size,
                       bytes_per_customer=round(size / max(rows.get("customers", 0), 1), 1), noop=noop)


def _counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: int(conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one()) for t in COUNT_TABLES}


def _bytes_on_disk(engine: Engine) -> int:
    import os

    name = engine.dialect.name
    if name == "sqlite":
        path = engine.url.database
        return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    with engine.connect() as conn:
        if name == "postgresql":
            return int(conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one())
        return int(conn.execute(text(
            "SELECT COALESCE(SUM(data_length + index_length), 0) FROM information_schema.tables "
            "WHERE table_schema = DATABASE()")).scalar_one())


def _prepare_all(prepare, have: int, bounds: list[tuple[int, int]], pipe, parent_end) -> None:
    """Child side of :func:`_prepared_in_child`: every chunk in order, each sent as soon as ready
    (the pipe's buffer holds the child at most one chunk ahead of the writer)."""
    # The fork gave us the reading end too: closed, so that the writer's death (even SIGKILL)
    # leaves the pipe without a reader and our next send fails instead of blocking for ever; and a
    # parent-death signal, so that we do not compute a whole chunk for nobody first.
    parent_end.close()
    parent = multiprocessing.parent_process()
    if parent is not None and parent.pid is not None:
        lifeline.die_with_parent(parent.pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal's Ctrl-C is the writer's to handle
    try:
        for start, stop in bounds:
            pipe.send(prepare(have, start, stop))
    except BrokenPipeError:
        pass  # the writer is gone (stopped, killed): nothing to tell, nobody to tell it to
    except BaseException as exc:  # noqa: BLE001 - whatever it is, the parent must hear of it
        try:
            pipe.send(_ChildFailed(f"{type(exc).__name__}: {exc}"))
        except OSError:
            pass
    finally:
        pipe.close()


@dataclass(frozen=True)
class _ChildFailed:
    error: str


def _prepared_in_child(prepare, have: int, bounds: list[tuple[int, int]]):
    """Prepared chunks, in order, generated by a forked child (same code, same state, same rows).

    The child inherits the seeder as it is after ``setup`` (id counters, catalogue, owners) and only
    computes; it never touches the database connection it inherited. It is killed if the writer
    stops early (an error, Ctrl-C).
    """
    if not bounds:
        return
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_prepare_all, args=(prepare, have, bounds, send, recv), daemon=True,
                        name="jxcbench-seed-prepare")
    child.start()
    send.close()
    try:
        for _ in bounds:
            try:
                msg = recv.recv()
            except EOFError:
                raise JxcError(f"the seed's data generator (pid {child.pid}) died (exit {child.exitcode})",
                               exit_code=1) from None
            if isinstance(msg, _ChildFailed):
                raise JxcError(f"generating seed data failed: {msg.error}", exit_code=1)
            yield msg
    finally:
        if child.is_alive():
            child.kill()
        child.join()
        recv.close()


class _Seeder:
    def __init__(self, writer: BulkWriter, dialect, seed, quota, history, anchor_us, added, staffing) -> None:
        self.w = writer
        self.staffing = staffing
        self.dialect = dialect
        self.seed = seed
        self.quota = quota
        self.history = history
        self.anchor_us = anchor_us
        self.added = added
        self.cat: Catalogue = make_catalogue(seed)
        self.key = "`key`" if writer.dialect == "mysql" else "key"
        self._block: tuple[int, CustomerBlock, History | None] | None = None
        self._queue: list | None = None

    # -- app_meta ---------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self.w.execute(f"SELECT value FROM app_meta WHERE {self.key} = ?", (key,))
        return rows[0][0] if rows else None

    def put_meta(self, key: str, value: str) -> None:
        if self.get_meta(key) is None:
            self.w.execute(f"INSERT INTO app_meta ({self.key}, value) VALUES (?, ?)", (key, value))
        else:
            self.w.execute(f"UPDATE app_meta SET value = ? WHERE {self.key} = ?", (value, key))

    def del_meta(self, key: str) -> None:
        self.w.execute(f"DELETE FROM app_meta WHERE {self.key} = ?", (key,))

    def _count(self, table: str, n: int) -> None:
        self.added[table] = self.added.get(table, 0) + int(n)

    def load(self, table: str, rows: Rows) -> None:
        """Encode rows; send them now, or queue them into the chunk being prepared."""
        n = len(next(iter(rows.values())))
        if not n:
            return
        payload = self.w.encode(table, rows)
        if self._queue is not None:
            self._queue.append((table, payload, n))
        else:
            self.w.send(table, payload)
            self._count(table, n)

    def take_ids(self, table: str, n: int) -> np.ndarray:
        start = self.next_id[table]
        self.next_id[table] = start + n
        return np.arange(start, start + n, dtype=np.int64)

    # -- once per database / per run ---------------------------------------------------------
    def setup(self, meta: dict[str, str], anchor: dt.date, customers: int) -> None:
        w = self.w
        if self.get_meta("seed_catalogue") is None:
            self._catalogue()
            for k, v in (("seed_seed", self.seed), ("seed_quota", self.quota), ("seed_history", int(self.history)),
                         ("seed_anchor", anchor.isoformat()), ("seeded_customers", 0), ("seed_catalogue", 1)):
                self.put_meta(k, str(v))
            w.commit()
        self.products = self._ids("products", "sku", self.cat.sku)
        self.warehouses = self._ids("warehouses", "code", np.array([c for c, _, _ in WAREHOUSES]))
        self.suppliers = self._ids("suppliers", "code", self.cat.supplier_code)
        self.next_id = {t: self.max_id(t) + 1 for t in ID_TABLES}
        have = int(self.get_meta("seeded_customers") or 0)
        if have == 0 and self.next_id["customers"] == 1 and self.get_meta(MARKER) is None:
            self.put_meta(MARKER, "1")  # first, so that a kill during the drop still rebuilds
            w.commit()
            drop_bulk_indexes(w, self.dialect)
        self._operators(have, customers)

    def max_id(self, table: str) -> int:
        return self.w.max_id(table)

    def _ids(self, table: str, col: str, keys: np.ndarray) -> np.ndarray:
        found = dict((k, i) for i, k in self.w.execute(f"SELECT id, {col} FROM {table}"))
        missing = [k for k in keys.tolist() if k not in found]
        if missing:
            raise _fail(f"{table} lacks seeded rows (e.g. {col} {missing[0]!r}); the database was changed "
                        "outside jxcbench — seed into an empty database")
        return np.array([found[k] for k in keys.tolist()], dtype=np.int64)

    def _catalogue(self) -> None:
        cat, now = self.cat, np.datetime64(self.anchor_us - 7 * 365 * 86_400 * 10**6, "us")
        p = cat.products
        pid = np.arange(self.max_id("products") + 1, self.max_id("products") + 1 + p)
        self.load("products", dict(id=pid, sku=cat.sku, name=cat.name, category=cat.category, unit=cat.unit,
                                   price_cents=cat.price_cents, cost_cents=cat.cost_cents,
                                   created_at=np.full(p, now)))
        wid = np.arange(self.max_id("warehouses") + 1, self.max_id("warehouses") + 1 + len(WAREHOUSES))
        self.load("warehouses", dict(id=wid, code=np.array([w[0] for w in WAREHOUSES]),
                                     name=np.array([w[1] for w in WAREHOUSES]),
                                     region=np.array([w[2] for w in WAREHOUSES])))
        s = len(cat.supplier_code)
        sid = np.arange(self.max_id("suppliers") + 1, self.max_id("suppliers") + 1 + s)
        self.load("suppliers", dict(id=sid, code=cat.supplier_code, name=cat.supplier_name,
                                    phone=cat.supplier_phone, created_at=np.full(s, now)))
        prod = np.repeat(pid, len(wid))
        wh = np.tile(wid, p)
        qty = cat.opening.reshape(-1)
        self.load("stock", dict(product_id=prod, warehouse_id=wh, on_hand=qty))
        self.next_id = {"stock_moves": self.max_id("stock_moves") + 1}
        mid = self.take_ids("stock_moves", len(prod))
        self.load("stock_moves", dict(id=mid, product_id=prod, warehouse_id=wh, qty=qty,
                                      reason=np.full(len(prod), "opening"),
                                      doc_type=np.full(len(prod), None, dtype=object),
                                      doc_id=np.full(len(prod), None, dtype=object),
                                      operator_id=np.full(len(prod), None, dtype=object),
                                      created_at=np.full(len(prod), now)))
        for table, ids in (("products", pid), ("warehouses", wid), ("suppliers", sid), ("stock_moves", mid)):
            self.w.after_ids(table, int(ids[-1]))

    def _operators(self, have: int, customers: int) -> None:
        """Create the operators the target size needs and plan who owns which new customer."""
        rows = self.w.execute("SELECT id, username, role, customer_count, customer_quota FROM operators")
        by_name = {r[1]: r for r in rows}
        room = {}
        for oid, name, role, count, quota in rows:
            if role == "sales" and name.startswith("sales") and name[5:].isdigit():
                room[int(name[5:]) - 1] = quota - count
        self.owner_js, takes = assign_owners(have, customers, self.quota, room)
        self.owner_bounds = np.cumsum(takes)
        need = max(int(self.owner_js.max()) + 1 if len(self.owner_js) else 0,
                   sum(1 for n in by_name if n.startswith("sales")))
        missing = [r for r in operator_rows(need, self.quota, self.staffing) if r["username"] not in by_name]
        if missing:
            # One Argon2 hash for every seeded operator: hashing is deliberately slow (~50 ms), and all
            # of them share the one load-test password anyway.
            pw = hash_password(LOADTEST_PASSWORD)
            ids = np.arange(self.max_id("operators") + 1, self.max_id("operators") + 1 + len(missing))
            n = len(missing)
            self.load("operators", dict(
                id=ids, username=np.array([r["username"] for r in missing]),
                password_hash=np.full(n, pw), role=np.array([r["role"] for r in missing]),
                team=np.array([r["team"] for r in missing], dtype=object),
                customer_quota=np.array([r["customer_quota"] for r in missing], dtype=np.int64),
                customer_count=np.zeros(n, dtype=np.int64),
                created_at=np.full(n, np.datetime64(self.anchor_us - 6 * 365 * 86_400 * 10**6, "us"))))
            self.w.after_ids("operators", int(ids[-1]))
            self.w.commit()
        ops = {name: oid for oid, name in self.w.execute("SELECT id, username FROM operators")}
        self.sales_id = np.array([ops[f"sales{j + 1:06d}"] for j in range(need)], dtype=np.int64)
        self.clerk_id = ops["clerk0001"]

    def analyze(self) -> None:
        if self.w.dialect == "postgresql":
            self.w.execute("ANALYZE")
        elif self.w.dialect == "sqlite":
            self.w.execute("PRAGMA analysis_limit = 1000")
            self.w.execute("ANALYZE")
        else:
            self.w.execute("ANALYZE TABLE " + ", ".join(COUNT_TABLES))
        self.w.commit()

    # -- the chunks --------------------------------------------------------------------------
    def grow(self, have: int, customers: int, chunk: int, bar: SeedProgress) -> None:
        """Prepare chunk i+1 (generate + encode, in a thread) while chunk i is being written.

        The database is the bottleneck on one core; generation and encoding on the other core
        then cost (almost) nothing. At most two chunks are in memory.
        """
        bounds = []
        start = have
        while start < customers:
            stop = min(customers, (start // chunk + 1) * chunk)
            bounds.append((start, stop))
            start = stop
        if self.w.dialect == "sqlite":
            # SQLite runs in this process: its inserts hold the GIL most of the time, so a helper
            # thread only adds contention (measured: slower). A forked child has a GIL of its own:
            # it prepares chunk i+1 on the other core while this process writes chunk i.
            for (start, stop), prepared in zip(bounds, _prepared_in_child(self._prepare, have, bounds), strict=True):
                bar.advance(stop - start, self._apply(prepared))
            return
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="seed-prepare") as pool:
            pending = pool.submit(self._prepare, have, *bounds[0]) if bounds else None
            for i, (start, stop) in enumerate(bounds):
                prepared = pending.result()
                pending = pool.submit(self._prepare, have, *bounds[i + 1]) if i + 1 < len(bounds) else None
                try:
                    rows = self._apply(prepared)
                except BaseException:
                    if pending is not None:
                        pending.cancel()
                    raise
                bar.advance(stop - start, rows)

    def _block_data(self, b: int) -> tuple[CustomerBlock, History | None]:
        if self._block is None or self._block[0] != b:
            cb = customer_block(self.seed, b, self.anchor_us)
            h = block_history(self.seed, b, cb, self.cat, self.anchor_us) if self.history else None
            self._block = (b, cb, h)
        return self._block[1], self._block[2]

    def _prepare(self, run_start: int, start: int, stop: int) -> dict:
        self._queue = []
        delta = np.zeros(self.cat.products * self.cat.warehouses, dtype=np.int64)
        owners_added = np.zeros(len(self.sales_id), dtype=np.int64)
        for b in range(start // BLOCK, (stop - 1) // BLOCK + 1):
            lo = max(start, b * BLOCK) - b * BLOCK
            hi = min(stop, (b + 1) * BLOCK) - b * BLOCK
            cb, h = self._block_data(b)
            # owners of seeded customers k = b*BLOCK+lo .. : run positions -> salesperson index
            pos = np.arange(b * BLOCK + lo, b * BLOCK + hi) - run_start
            js = self.owner_js[np.searchsorted(self.owner_bounds, pos, side="right")]
            owners_added += np.bincount(js, minlength=len(self.sales_id))
            self._slice(cb, h, lo, hi, self.sales_id[js], delta)
        loads, self._queue = self._queue, None
        cells = np.nonzero(delta)[0]
        W = self.cat.warehouses
        nz = np.nonzero(owners_added)[0]
        return dict(
            loads=loads, stop=stop, last_ids={t: self.next_id[t] - 1 for t in ID_TABLES},
            stock=[(int(delta[c]), int(self.products[c // W]), int(self.warehouses[c % W])) for c in cells],
            owners=[(int(owners_added[j]), int(self.sales_id[j])) for j in nz],
        )

    def _apply(self, p: dict) -> int:
        """Write one prepared chunk in one transaction (with the progress counter)."""
        w = self.w
        try:
            for table, payload, _n in p["loads"]:
                w.send(table, payload)
            w.executemany("UPDATE stock SET on_hand = on_hand + ? WHERE product_id = ? AND warehouse_id = ?",
                          p["stock"])
            w.executemany("UPDATE operators SET customer_count = customer_count + ? WHERE id = ?", p["owners"])
            self.put_meta("seeded_customers", str(p["stop"]))
            for t, last in p["last_ids"].items():
                if last > 0:
                    w.after_ids(t, last)
            w.commit()
        except BaseException:
            w.rollback()
            raise
        for table, _payload, n in p["loads"]:
            self._count(table, n)
        return sum(n for _t, _p, n in p["loads"])

    def _slice(self, cb: CustomerBlock, h: History | None, lo: int, hi: int, owner: np.ndarray,
               delta: np.ndarray) -> None:
        n = hi - lo
        us = lambda a: a.astype("datetime64[us]")  # noqa: E731
        cid = self.take_ids("customers", n)
        created = us(cb.created_us[lo:hi])
        if h is not None:
            credit, balance = h.credit_limit[lo:hi], h.balance[lo:hi]
        else:
            from loadgen.synth.customers import LEVEL_BASE_CENTS
            credit, balance = LEVEL_BASE_CENTS[cb.level[lo:hi]], np.zeros(n, dtype=np.int64)
        self.load("customers", dict(
            id=cid, code=cb.code[lo:hi], name=cb.name[lo:hi], phone=cb.phone[lo:hi], email=cb.email[lo:hi],
            region=cb.region[lo:hi], address=cb.address[lo:hi], level=LEVEL_NAMES[cb.level[lo:hi]],
            credit_limit_cents=credit, balance_cents=balance, owner_id=owner, created_at=created,
            updated_at=created))
        if h is None:
            return
        W = self.cat.warehouses
        if lo == 0:
            self._receipts(h, delta)
        o_lo, o_hi = np.searchsorted(h.order_customer, [lo, hi])
        oc = h.order_customer[o_lo:o_hi] - lo
        oid = self.take_ids("sales_orders", o_hi - o_lo)
        o_op = owner[oc]
        o_wh = h.order_warehouse[o_lo:o_hi]
        o_time = us(h.order_us[o_lo:o_hi])
        self.load("sales_orders", dict(id=oid, customer_id=cid[oc], warehouse_id=self.warehouses[o_wh],
                                       operator_id=o_op, total_cents=h.order_total[o_lo:o_hi], created_at=o_time))
        l_lo, l_hi = np.searchsorted(h.line_order, [o_lo, o_hi])
        lo_ = h.line_order[l_lo:l_hi] - o_lo
        prod = h.line_product[l_lo:l_hi]
        qty = h.line_qty[l_lo:l_hi]
        nl = l_hi - l_lo
        self.load("sales_order_lines", dict(id=self.take_ids("sales_order_lines", nl), order_id=oid[lo_],
                                            product_id=self.products[prod], qty=qty,
                                            unit_price_cents=h.line_price[l_lo:l_hi],
                                            amount_cents=h.line_amount[l_lo:l_hi]))
        self.load("stock_moves", dict(id=self.take_ids("stock_moves", nl), product_id=self.products[prod],
                                      warehouse_id=self.warehouses[o_wh[lo_]], qty=-qty,
                                      reason=np.full(nl, "sale"), doc_type=np.full(nl, "sales_order"),
                                      doc_id=oid[lo_], operator_id=o_op[lo_], created_at=o_time[lo_]))
        np.subtract.at(delta, prod * W + o_wh[lo_], qty)
        p_lo, p_hi = np.searchsorted(h.pay_customer, [lo, hi])
        pc = h.pay_customer[p_lo:p_hi] - lo
        self.load("payments", dict(id=self.take_ids("payments", p_hi - p_lo), customer_id=cid[pc],
                                   operator_id=owner[pc], amount_cents=h.pay_amount[p_lo:p_hi],
                                   created_at=us(h.pay_us[p_lo:p_hi])))

    def _receipts(self, h: History, delta: np.ndarray) -> None:
        """The block's whole demand, bought before its first sale: one received PO per warehouse × supplier."""
        cat = self.cat
        W = cat.warehouses
        prod, wh = np.nonzero(h.demand)
        qty = h.demand[prod, wh]
        key = wh * len(cat.supplier_code) + cat.supplier[prod]
        order = np.lexsort((prod, key))
        prod, wh, qty, key = prod[order], wh[order], qty[order], key[order]
        keys, first, line_po = np.unique(key, return_index=True, return_inverse=True)
        po_ids = self.take_ids("purchase_orders", len(keys))
        cost = cat.cost_cents[prod]
        amount = qty * cost
        total = np.bincount(line_po, weights=amount, minlength=len(keys)).astype(np.int64)
        when = np.datetime64(int(h.order_us.min()) - 2 * 86_400 * 10**6, "us") if len(h.order_us) else \
            np.datetime64(self.anchor_us - 86_400 * 10**6, "us")
        npo = len(keys)
        self.load("purchase_orders", dict(
            id=po_ids, supplier_id=self.suppliers[keys % len(cat.supplier_code)],
            warehouse_id=self.warehouses[keys // len(cat.supplier_code)],
            operator_id=np.full(npo, self.clerk_id), status=np.full(npo, "received"), total_cents=total,
            created_at=np.full(npo, when), received_at=np.full(npo, when + np.timedelta64(1, "D"))))
        nl = len(prod)
        self.load("purchase_order_lines", dict(id=self.take_ids("purchase_order_lines", nl), order_id=po_ids[line_po],
                                               product_id=self.products[prod], qty=qty, unit_cost_cents=cost,
                                               amount_cents=amount))
        self.load("stock_moves", dict(id=self.take_ids("stock_moves", nl), product_id=self.products[prod],
                                      warehouse_id=self.warehouses[wh], qty=qty,
                                      reason=np.full(nl, "purchase_receipt"), doc_type=np.full(nl, "purchase_order"),
                                      doc_id=po_ids[line_po], operator_id=np.full(nl, self.clerk_id),
                                      created_at=np.full(nl, when + np.timedelta64(1, "D"))))
        np.add.at(delta, prod * W + wh, qty)


__all__ = ["seed_database", "SeedSummary", "DEFAULT_CHUNK"]
