"""Seeding on the three real engines: determinism, grow = fresh, resume after a kill, API rows kept,
operators sized by quota, snapshots, and bad input refused with nothing written."""

from __future__ import annotations

import datetime as dt
import glob
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, text, update

from loadgen.errors import JxcError
from loadgen.seed import drop_snapshot, restore, seed_database, snapshot
from loadgen.synth import LOADTEST_PASSWORD
from reference_app.audit import audit
from reference_app.db import make_engine
from reference_app.models import Customer, Operator, Payment, SalesOrder, SalesOrderLine, Stock, StockMove
from reference_app.security import verify_password
from tests.dbs import fresh_database
from tests.seed.digest import db_digest, expected_digest

ANCHOR = dt.date(2026, 1, 1)
REPO = Path(__file__).resolve().parents[2]


def _seed(url, n, **kw):
    kw.setdefault("anchor", ANCHOR)
    kw.setdefault("progress", False)
    return seed_database(url, n, **kw)


def _counts(url) -> dict[str, int]:
    engine = make_engine(url)
    names = ["operators", "customers", "stock", "stock_moves", "sales_orders", "sales_order_lines",
             "purchase_orders", "purchase_order_lines", "payments"]
    with engine.connect() as conn:
        out = {t: conn.execute(text(f"SELECT COUNT(*) FROM {t}")).scalar_one() for t in names}
        out["on_hand"] = conn.execute(text("SELECT SUM(on_hand) FROM stock")).scalar_one()
    engine.dispose()
    return out


def _audit_ok(url) -> None:
    engine = make_engine(url)
    result = audit(engine)
    engine.dispose()
    assert result.ok, result.as_dict()


def test_same_seed_same_customers_on_every_engine(db_url):
    summary = _seed(db_url, 2500, chunk_customers=1000)
    assert summary.customers == 2500 and summary.added_customers == 2500
    # every engine holds exactly what the generator produces, so all engines hold the same rows
    assert db_digest(db_url) == expected_digest(42, 2500, ANCHOR)
    assert expected_digest(7, 50, ANCHOR) != expected_digest(42, 50, ANCHOR)
    _audit_ok(db_url)
    again = _seed(db_url, 2500)
    assert again.noop and again.added_customers == 0


def test_grow_in_place_equals_fresh(db_url, backend, tmp_path):
    _seed(db_url, 2000, chunk_customers=700)
    grown = _seed(db_url, 5000)
    assert grown.added_customers == 3000
    _audit_ok(db_url)
    (tmp_path / "fresh").mkdir()
    with fresh_database(backend, tmp_path / "fresh") as fresh_url:
        _seed(fresh_url, 5000)
        assert _counts(db_url) == _counts(fresh_url)
        assert db_digest(db_url) == db_digest(fresh_url) == expected_digest(42, 5000, ANCHOR)


def test_grow_keeps_rows_created_through_the_api(db_url):
    _seed(db_url, 1000)
    engine = make_engine(db_url)
    # what the API does for a customer, an order and a payment (ids from the engine)
    with engine.begin() as conn:
        owner = conn.execute(select(Operator.id).where(Operator.username == "sales000002")).scalar_one()
        taken = conn.execute(update(Operator).where(Operator.id == owner,
                                                    Operator.customer_count < Operator.customer_quota)
                             .values(customer_count=Operator.customer_count + 1))
        assert taken.rowcount == 1
        cid = conn.execute(Customer.__table__.insert().values(
            code="CAPI0000000000001", name="接口客户", phone="13900000000", owner_id=owner,
            credit_limit_cents=10**7, balance_cents=0)).inserted_primary_key[0]
        stock = conn.execute(select(Stock.product_id, Stock.warehouse_id).limit(1)).one()
        oid = conn.execute(SalesOrder.__table__.insert().values(
            customer_id=cid, warehouse_id=stock.warehouse_id, operator_id=owner, total_cents=500)).inserted_primary_key[0]
        conn.execute(SalesOrderLine.__table__.insert().values(order_id=oid, product_id=stock.product_id, qty=1,
                                                             unit_price_cents=500, amount_cents=500))
        conn.execute(update(Stock).where(Stock.product_id == stock.product_id, Stock.warehouse_id == stock.warehouse_id)
                     .values(on_hand=Stock.on_hand - 1))
        conn.execute(StockMove.__table__.insert().values(product_id=stock.product_id, warehouse_id=stock.warehouse_id,
                                                         qty=-1, reason="sale", doc_type="sales_order", doc_id=oid))
        conn.execute(Payment.__table__.insert().values(customer_id=cid, operator_id=owner, amount_cents=200))
        conn.execute(update(Customer).where(Customer.id == cid).values(balance_cents=300))
    engine.dispose()
    _seed(db_url, 2000)
    _audit_ok(db_url)
    assert db_digest(db_url) == expected_digest(42, 2000, ANCHOR)
    engine = make_engine(db_url)
    with engine.begin() as conn:
        assert conn.execute(select(Customer.name).where(Customer.id == cid)).scalar_one() == "接口客户"
        assert conn.execute(select(func.count()).select_from(Customer)).scalar_one() == 2001
        # the engine's own ids continue after the seeded ones (no collision on the next API insert)
        new_id = conn.execute(Customer.__table__.insert().values(
            code="CAPI0000000000002", name="又一个", phone="13900000001", owner_id=owner)).inserted_primary_key[0]
        assert new_id > conn.execute(select(func.max(Customer.id)).where(Customer.id != new_id)).scalar_one()
        oid2 = conn.execute(SalesOrder.__table__.insert().values(
            customer_id=new_id, warehouse_id=stock.warehouse_id, operator_id=owner, total_cents=0)).inserted_primary_key[0]
        assert oid2 > oid
        conn.rollback()
    engine.dispose()


def _no_process_left_for(db_url: str, timeout: float = 10.0) -> None:
    import psutil

    def left():
        out = []
        for p in psutil.process_iter(["pid", "cmdline"]):
            try:
                if p.info["pid"] != os.getpid() and db_url in " ".join(p.info["cmdline"] or []):
                    out.append(p.info["pid"])
            except psutil.Error:
                pass
        return out

    deadline = time.monotonic() + timeout
    while left() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left(), f"processes still running for {db_url}: {left()}"


def test_interrupted_seed_is_consistent_and_resumes(db_url):
    _seed(db_url, 10)  # schema + catalogue, so the poll below has a table to read
    engine = make_engine(db_url)
    key = "`key`" if engine.dialect.name == "mysql" else "key"
    proc = subprocess.Popen(
        [sys.executable, "-m", "loadgen.cli", "seed", "--db", db_url, "--customers", "8000", "--chunk", "250",
         "--json"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    done = 0
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            with engine.connect() as conn:
                done = int(conn.execute(text(f"SELECT value FROM app_meta WHERE {key} = 'seeded_customers'"))
                           .scalar_one())
            if done >= 1000:
                break
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    engine.dispose()
    assert 10 < done < 8000, f"kill came too late or too early ({done})"
    _no_process_left_for(db_url)  # e.g. SQLite's data-generating child, orphaned by the kill
    _audit_ok(db_url)  # a killed chunk rolls back whole
    summary = _seed(db_url, 8000)
    assert summary.customers == 8000
    _audit_ok(db_url)
    assert db_digest(db_url) == expected_digest(42, 8000, ANCHOR)
    # the killed seeder's scratch files (MariaDB's CSVs) are removed by the next seeder
    assert not glob.glob(os.path.join(tempfile.gettempdir(), f"jxcseed-{proc.pid}-*"))


def test_operators_sized_by_quota(db_url):
    _seed(db_url, 3000, customer_quota=100)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        ops = conn.execute(select(Operator.username, Operator.role, Operator.team, Operator.customer_quota,
                                  Operator.customer_count, Operator.password_hash)).all()
    engine.dispose()
    sales = [o for o in ops if o.role == "sales"]
    assert len(sales) >= 3000 / 100
    assert all(o.customer_count <= o.customer_quota == 100 for o in sales)
    assert sum(o.customer_count for o in sales) == 3000
    assert max(o.customer_count for o in sales) <= 0.9 * 100  # headroom for API-created customers
    teams = {o.team for o in sales}
    managers = {o.team for o in ops if o.role == "manager"}
    assert teams == managers
    assert all(sum(1 for s in sales if s.team == t) <= 10 for t in teams)
    assert sum(o.role == "clerk" for o in ops) == max(2, -(-len(sales) // 5))
    # one admin, and a back office (role admin too) of one per 10 salespeople
    assert [o.username for o in ops if o.role == "admin" and not o.username.startswith("office")] == ["admin"]
    assert sum(o.username.startswith("office") for o in ops if o.role == "admin") == max(1, -(-len(sales) // 10))
    assert len({o.password_hash for o in ops}) == 1
    assert verify_password(ops[0].password_hash, LOADTEST_PASSWORD)
    _audit_ok(db_url)


def test_snapshot_restore_goes_back(db_url):
    _seed(db_url, 1000)
    before = _counts(db_url)
    try:
        assert snapshot(db_url, "t1") >= 0
        _seed(db_url, 2500)
        assert _counts(db_url)["customers"] == 2500
        restore(db_url, "t1")
        assert _counts(db_url) == before
        _audit_ok(db_url)
        assert _seed(db_url, 1000).noop
        _seed(db_url, 2500)  # and grows again from there
        _audit_ok(db_url)
    finally:
        drop_snapshot(db_url, "t1")


def _tables(url) -> set[str]:
    engine = make_engine(url)
    names = set(inspect(engine).get_table_names())
    engine.dispose()
    return names


@pytest.mark.parametrize("n", [0, -5])
def test_bad_counts_write_nothing(db_url, n):
    with pytest.raises(JxcError, match="--customers must be a positive"):
        _seed(db_url, n)
    with pytest.raises(JxcError, match="--quota"):
        _seed(db_url, 10, customer_quota=0)
    assert _tables(db_url) == set()


def test_foreign_tables_and_shrinking_are_refused(db_url):
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE somebody_elses (x INTEGER)"))
    engine.dispose()
    with pytest.raises(JxcError, match="not jxcbench's: somebody_elses"):
        _seed(db_url, 10)
    assert _tables(db_url) == {"somebody_elses"}
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE somebody_elses"))
    engine.dispose()
    _seed(db_url, 300)
    before = _counts(db_url)
    with pytest.raises(JxcError, match="already holds 300 seeded customers.*restore a snapshot"):
        _seed(db_url, 100)
    with pytest.raises(JxcError, match="seeded with seed=42, not 7"):
        _seed(db_url, 400, seed=7)
    assert _counts(db_url) == before


def test_cli_errors_are_one_line_exit_2(tmp_path):
    cases = [
        (["--db", f"sqlite:///{tmp_path}/x.sqlite", "--customers", "0"], "--customers must be a positive"),
        (["--db", "postgresql+psycopg://postgres@127.0.0.1:1/x", "--customers", "10"], "cannot connect to database"),
        (["--db", f"sqlite:///{tmp_path}/nodir/x.sqlite", "--customers", "10"], "does not exist"),
    ]
    for args, message in cases:
        r = subprocess.run([sys.executable, "-m", "loadgen.cli", "seed", *args], cwd=REPO, capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 2, r.stderr
        assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert not os.path.exists(tmp_path / "x.sqlite")


def test_a_stop_between_commit_and_begin_rolls_back_without_an_error(tmp_path):
    """SIGTERM (Terminated) can land in SqliteWriter.commit() after COMMIT and before the next BEGIN;
    the seeder then rolls back, and that must not raise over the stop's own message (CI saw exit 1
    with "cannot rollback - no transaction is active" instead of the clean stop)."""
    from sqlalchemy import create_engine

    from loadgen.seed.bulk import SqliteWriter

    writer = SqliteWriter(create_engine(f"sqlite:///{tmp_path / 'w.sqlite'}"))
    try:
        writer.conn.execute("COMMIT")  # as if the signal arrived right after commit()'s COMMIT
        writer.rollback()
        assert writer.conn.in_transaction  # ready for the next chunk, as after any rollback
    finally:
        writer.close()
