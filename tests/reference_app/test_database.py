"""The unit of work re-runs after a real deadlock (PostgreSQL, MariaDB) and after Retry."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import insert, select, update

from reference_app.models import Product, Stock, Warehouse
from reference_app.schema import create_schema
from reference_app.services.database import Database, Retry


def _two_stock_rows(db: Database) -> None:
    create_schema(db.engine)
    with db.engine.begin() as conn:
        conn.execute(insert(Product).values(id=1, sku="P", name="p", category="c", unit="u", price_cents=1,
                                            cost_cents=1))
        conn.execute(insert(Warehouse), [{"id": 1, "code": "A", "name": "a"}, {"id": 2, "code": "B", "name": "b"}])
        conn.execute(insert(Stock), [{"product_id": 1, "warehouse_id": w, "on_hand": 0} for w in (1, 2)])


def _bump(s, warehouse_id: int) -> None:
    s.execute(update(Stock).where(Stock.warehouse_id == warehouse_id).values(on_hand=Stock.on_hand + 1))


def test_a_real_deadlock_is_retried_and_both_units_commit(db_url, backend):
    if backend == "sqlite":
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): it cannot deadlock")
    db = Database(db_url, pool_size=2, retries=3)
    try:
        _two_stock_rows(db)
        both_hold_one = threading.Barrier(2, timeout=10)
        errors: list[BaseException] = []

        def opposite_order(first: int, second: int) -> None:
            attempts = 0

            def unit(s):
                nonlocal attempts
                attempts += 1
                _bump(s, first)
                if attempts == 1:
                    both_hold_one.wait()  # each now holds one row and wants the other's: a deadlock
                _bump(s, second)

            try:
                db.write(unit)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=opposite_order, args=a) for a in ((1, 2), (2, 1))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors, errors
        assert db.retried >= 1
        with db.engine.connect() as conn:
            assert list(conn.execute(select(Stock.on_hand).order_by(Stock.warehouse_id)).scalars()) == [2, 2]
    finally:
        db.dispose()


def test_retry_reruns_the_whole_unit_from_a_clean_transaction(db_url):
    db = Database(db_url, pool_size=1, retries=2)
    try:
        _two_stock_rows(db)
        calls = []

        def unit(s):
            calls.append(1)
            _bump(s, 1)
            if len(calls) == 1:
                raise Retry("lost a race")

        db.write(unit)
        with db.engine.connect() as conn:
            assert conn.scalar(select(Stock.on_hand).where(Stock.warehouse_id == 1)) == 1  # not 2
        assert len(calls) == 2

        def always(s):
            raise Retry("never settles")

        with pytest.raises(Retry):
            db.write(always)
    finally:
        db.dispose()


def test_sqlite_pragmas_from_the_settings_reach_every_connection(tmp_path):
    from reference_app.config import Settings
    from reference_app.db import parse_sqlite_pragmas

    settings = Settings(database_url=f"sqlite:///{tmp_path / 'p.sqlite'}", sqlite_pragmas="cache_size=-12345; mmap_size=0")
    db = Database(settings.database_url, sqlite_pragmas=parse_sqlite_pragmas(settings.sqlite_pragmas))
    try:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -12345
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"  # the app's own stay
    finally:
        db.engine.dispose()


@pytest.mark.parametrize("bad", ["cache_size=1; DROP TABLE customers", "cache_size", "Cache-Size=1", "x=1 2"])
def test_sqlite_pragmas_refuse_anything_but_name_equals_value(bad):
    from pydantic import ValidationError

    from reference_app.config import Settings

    with pytest.raises(ValidationError, match="SQLite PRAGMA"):
        Settings(database_url="sqlite:///x.sqlite", sqlite_pragmas=bad)
