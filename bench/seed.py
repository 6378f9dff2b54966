"""How fast does ``jxcbench seed`` fill each engine, against the engine's raw bulk path, in one run?

For each engine (a fresh database each time):

1. ``jxcbench``: ``seed_database(url, N, history=False)`` — customers only, end to end (schema,
   catalogue, operators, generation, encoding, chunked transactions, index builds, ANALYZE), in a
   child process that reports its peak RSS (``VmHWM``).
2. ``raw``: the same N customer rows, pre-made in the engine's own format before the clock starts
   (a CSV file for PostgreSQL ``COPY FROM STDIN`` and MariaDB ``LOAD DATA LOCAL INFILE``; ready
   tuples in memory for SQLite ``executemany``), loaded into an empty schema with the same session
   settings and index treatment as the seeder (secondary indexes dropped, loaded, rebuilt), in one
   transaction. This is the ceiling: the engine's own work and nothing else.

It prints customers/s of both and their ratio (target >= 0.7), the seeder's peak RSS (target
<= 1 GiB), then the time to seed ``--customers`` customers *with history* on PostgreSQL (target
<= 90 s for 1 M on a 2-core machine) and what going back costs (snapshot + restore) there.
Each side runs ``--repeats`` times, alternating, and the best time counts.
A benchmark, not a test: nothing asserts. The machine may be shared; the ratios come from the same run.

    python bench/seed.py [--customers 1000000] [--customers-only 1000000] [--repeats 2] [--engines sqlite,postgresql,mysql]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, make_url, text  # noqa: E402

from loadgen.seed.bulk import SqliteWriter, open_writer  # noqa: E402
from loadgen.seed.indexes import create_bulk_indexes, drop_bulk_indexes  # noqa: E402
from reference_app.db import make_engine  # noqa: E402
from reference_app.schema import create_schema  # noqa: E402

SERVERS = {
    "postgresql": os.environ.get("JXCBENCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    "mysql": os.environ.get("JXCBENCH_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}
CUSTOMER_COLS = ["id", "code", "name", "phone", "email", "region", "address", "level", "credit_limit_cents",
                 "balance_cents", "owner_id", "created_at", "updated_at"]


@contextmanager
def scratch_db(engine_name: str, tmp: Path):
    if engine_name == "sqlite":
        path = tmp / f"{uuid.uuid4().hex[:8]}.sqlite"
        yield f"sqlite:///{path}"
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            p.unlink(missing_ok=True)
        return
    admin_url = make_url(SERVERS[engine_name])
    name = f"jxcb_seed_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"' if engine_name == "postgresql" else
                          f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            if engine_name == "postgresql":
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                for (snap,) in conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                                            {"p": f"{name}__snap_%"}).all():
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{snap}" WITH (FORCE)'))
            else:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
                for (snap,) in conn.execute(text("SELECT schema_name FROM information_schema.schemata "
                                                 "WHERE schema_name LIKE :p"), {"p": f"{name}__snap_%"}).all():
                    conn.execute(text(f"DROP DATABASE IF EXISTS `{snap}`"))
        admin.dispose()


def seed_in_child(url: str, customers: int, history: bool) -> dict:
    """Run seed_database in a child process; return its summary plus wall seconds and peak RSS."""
    # VmHWM is the peak RSS of this process image only (ru_maxrss from wait4 would include the
    # parent's footprint at fork time on Linux)
    code = ("import json,sys; from loadgen.seed import seed_database; "
            f"s = seed_database({url!r}, {customers}, history={history}, progress=False).as_dict(); "
            "s['vmhwm_kib'] = int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]); "
            "print(json.dumps(s))")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE)
    out = proc.stdout.read()
    proc.wait()
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"seeding failed (exit {proc.returncode})")
    summary = json.loads(out)
    summary["wall_seconds"] = wall
    summary["peak_rss_mib"] = summary["vmhwm_kib"] / 1024
    return summary


def premade_rows(url: str, engine_name: str, tmp: Path):
    """The seeded customer rows, read back and rendered in the engine's bulk format (not timed)."""
    eng = make_engine(url)
    cols = ", ".join(CUSTOMER_COLS)
    if engine_name == "postgresql":
        raw = eng.raw_connection()
        buf = io.BytesIO()
        with raw.driver_connection.cursor() as cur, cur.copy(f"COPY customers ({cols}) TO STDOUT (FORMAT csv)") as cp:
            for block in cp:
                buf.write(block)
        raw.close()
        path = tmp / "customers.csv"
        path.write_bytes(buf.getvalue())
        result = path
    else:
        with eng.connect() as conn:
            rows = conn.execute(text(f"SELECT {cols} FROM customers ORDER BY id")).all()
        if engine_name == "sqlite":
            fmt = lambda v: v.isoformat(sep=" ", timespec="microseconds") if hasattr(v, "isoformat") else v  # noqa: E731
            result = [tuple(fmt(v) for v in r) for r in rows]
        else:
            import numpy as np

            from loadgen.seed.bulk import _arrow, _CSV
            import pyarrow.csv as pacsv

            data = {c: np.array([r[i] for r in rows], dtype=object if c == "email" else None)
                    for i, c in enumerate(CUSTOMER_COLS)}
            for c in ("created_at", "updated_at"):
                data[c] = data[c].astype("datetime64[us]")
            path = tmp / "customers.csv"
            with open(path, "wb") as fh:
                pacsv.write_csv(_arrow(data), fh, _CSV)
            result = path
    eng.dispose()
    return result


def raw_load(url: str, engine_name: str, rows) -> float:
    """Load the pre-made rows into an empty schema the engine's fastest way; seconds."""
    eng = make_engine(url)
    create_schema(eng, "basic")
    dialect = eng.dialect
    eng.dispose()
    w = open_writer(eng)
    cols = ", ".join(CUSTOMER_COLS)
    try:
        t0 = time.perf_counter()
        drop_bulk_indexes(w, dialect)
        if engine_name == "postgresql":
            with open(rows, "rb") as fh, w.conn.cursor() as cur, \
                    cur.copy(f"COPY customers ({cols}) FROM STDIN (FORMAT csv)") as cp:
                while block := fh.read(1 << 20):
                    cp.write(block)
        elif engine_name == "mysql":
            targets = [f"@{c}" if c == "email" else c for c in CUSTOMER_COLS]
            w.execute(f"LOAD DATA LOCAL INFILE '{rows}' INTO TABLE customers CHARACTER SET utf8mb4 "
                      "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' "
                      f"({', '.join(targets)}) SET email = NULLIF(@email, '')")
        else:
            assert isinstance(w, SqliteWriter)
            w.conn.executemany(f"INSERT INTO customers ({cols}) VALUES ({', '.join('?' * len(CUSTOMER_COLS))})", rows)
        w.commit()
        create_bulk_indexes(w, dialect)
        return time.perf_counter() - t0
    finally:
        w.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000, help="customers with history on PostgreSQL")
    ap.add_argument("--customers-only", type=int, default=1_000_000, help="customers for the raw-path ratio")
    ap.add_argument("--engines", default="sqlite,postgresql,mysql")
    ap.add_argument("--repeats", type=int, default=2, help="best of this many runs of each side (noisy machine)")
    args = ap.parse_args()
    from loadgen.seed import restore, snapshot

    print(f"# bench/seed.py  customers-only N={args.customers_only:,}  history N={args.customers:,}  "
          f"cpus={os.cpu_count()}  (shared machine: other work may run concurrently)")
    print(f"{'engine':<11} {'jxcbench c/s':>13} {'raw c/s':>10} {'ratio':>6} {'peak RSS MiB':>13} "
          f"{'snapshot s':>11} {'restore s':>10}")
    with tempfile.TemporaryDirectory(prefix="jxcbench-seed-") as d:
        tmp = Path(d)
        for name in args.engines.split(","):
            ours_s, raw_s, rss = [], [], 0.0
            for i in range(args.repeats):  # alternate the two sides so that background noise hits both
                with scratch_db(name, tmp) as url:
                    s = seed_in_child(url, args.customers_only, history=False)
                    ours_s.append(s["seconds"])
                    rss = max(rss, s["peak_rss_mib"])
                    if i == 0:
                        rows = premade_rows(url, name, tmp)
                        snap_s = snapshot(url, "bench")
                        restore_s = restore(url, "bench")
                with scratch_db(name, tmp) as url:
                    raw_s.append(raw_load(url, name, rows))
            ours = args.customers_only / min(ours_s)
            raw = args.customers_only / min(raw_s)
            print(f"{name:<11} {ours:>13,.0f} {raw:>10,.0f} {ours / raw:>6.2f} {rss:>13,.0f} "
                  f"{snap_s:>11.2f} {restore_s:>10.2f}", flush=True)
        if "postgresql" in args.engines.split(",") and args.customers > 0:
            with scratch_db("postgresql", tmp) as url:
                s = seed_in_child(url, args.customers, history=True)
                snap_s = snapshot(url, "bench")
                restore_s = restore(url, "bench")
            added = sum(s["rows_added"].values())
            print(f"\npostgresql, {args.customers:,} customers with history: {s['seconds']:.1f} s "
                  f"(target <= 90 s for 1 M), {added:,} rows ({added / s['seconds']:,.0f} rows/s), "
                  f"peak RSS {s['peak_rss_mib']:,.0f} MiB, {s['bytes_per_customer']:,.0f} bytes/customer, "
                  f"snapshot {snap_s:.1f} s, restore {restore_s:.1f} s")
            print("rows: " + ", ".join(f"{t}={n:,}" for t, n in s["rows"].items()))


if __name__ == "__main__":
    main()
