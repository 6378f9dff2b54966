"""The schema creates on every engine, index levels switch both ways, and the audit sees faults."""

from __future__ import annotations

from sqlalchemy import inspect, text

from reference_app.audit import audit
from reference_app.db import make_engine
from reference_app.models import Customer, Operator, Product, SalesOrder, SalesOrderLine, Stock, StockMove, Warehouse
from reference_app.schema import create_schema, index_level, set_index_level


def test_schema_levels_and_clean_audit(db_url, backend):
    engine = make_engine(db_url)
    create_schema(engine, "tuned")
    assert index_level(engine) == "tuned"
    names = set(inspect(engine).get_table_names())
    assert {"customers", "stock", "stock_moves", "sales_orders", "payments"} <= names
    if backend == "sqlite":
        assert "customers_fts" in names
    if backend == "postgresql":
        idx = {i["name"] for i in inspect(engine).get_indexes("customers")}
        assert "ix_customers_name_trgm" in idx
    set_index_level(engine, "basic")
    assert index_level(engine) == "basic"
    assert "customers_fts" not in set(inspect(engine).get_table_names())
    assert audit(engine).ok
    engine.dispose()


def test_audit_reports_each_kind_of_fault(db_url):
    engine = make_engine(db_url)
    create_schema(engine)
    with engine.begin() as conn:
        conn.execute(Operator.__table__.insert().values(id=1, username="s1", password_hash="x", role="sales",
                                                        customer_quota=1, customer_count=0))
        conn.execute(Customer.__table__.insert().values(id=1, code="C1", name="张三", phone="13800000000",
                                                        owner_id=1, balance_cents=500))
        conn.execute(Product.__table__.insert().values(id=1, sku="P1", name="p", category="c", unit="pc",
                                                       price_cents=100, cost_cents=50))
        conn.execute(Warehouse.__table__.insert().values(id=1, code="W1", name="w"))
        conn.execute(Stock.__table__.insert().values(product_id=1, warehouse_id=1, on_hand=7))
        conn.execute(StockMove.__table__.insert().values(product_id=1, warehouse_id=1, qty=5, reason="opening"))
        conn.execute(SalesOrder.__table__.insert().values(id=1, customer_id=1, warehouse_id=1, operator_id=1,
                                                          total_cents=300))
        conn.execute(SalesOrderLine.__table__.insert().values(order_id=1, product_id=1, qty=2,
                                                              unit_price_cents=100, amount_cents=200))
    result = audit(engine)
    assert not result.ok
    assert result.counts["stock_matches_ledger"] == 1
    assert result.counts["sales_order_total"] == 1
    assert result.counts["customer_balance"] == 1  # 500 recorded, 300 ordered
    assert result.counts["operator_customer_count"] == 1  # owns 1, recorded 0
    assert result.counts["stock_not_negative"] == 0
    engine.dispose()
