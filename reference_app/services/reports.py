"""Reports, scoped like every customer read: top customers, receivables aging, stock levels.

Receivables aging applies payments to the *oldest* orders first (FIFO), so what is still open is the
newest orders: walking a customer's orders from newest to oldest, an order is open for whatever part
of the balance the newer orders have not already covered. That is a running sum (a window function,
available on SQLite >= 3.25, PostgreSQL and MariaDB >= 10.2) evaluated in the database.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Select, bindparam, case, distinct, func, literal, select

from reference_app.models import Customer, Product, SalesOrder, Stock, Warehouse, utcnow
from reference_app.services.database import Database
from reference_app.services.permissions import Actor, Scoped
from reference_app.services.prepared import Prepared

AGING_BUCKETS = (("0-30", 30), ("31-60", 60), ("61-90", 90), ("90+", None))


def _top_customers(scope) -> Select:  # noqa: ANN001 - a scope condition
    total = func.sum(SalesOrder.total_cents).label("total_cents")
    return (
        select(Customer.id, Customer.name, func.count(SalesOrder.id).label("orders"), total)
        .join(SalesOrder, SalesOrder.customer_id == Customer.id)
        .where(SalesOrder.created_at >= bindparam("since"), scope)
        .group_by(Customer.id, Customer.name)
        .order_by(total.desc(), Customer.id)
        .limit(bindparam("limit"))
    )


def _aging(scope) -> Select:  # noqa: ANN001 - a scope condition
    newer_incl = func.sum(SalesOrder.total_cents).over(
        partition_by=SalesOrder.customer_id,
        order_by=(SalesOrder.created_at.desc(), SalesOrder.id.desc()),
        rows=(None, 0),
    )
    orders = (
        select(
            SalesOrder.customer_id, SalesOrder.created_at, SalesOrder.total_cents,
            Customer.balance_cents.label("balance"), newer_incl.label("newer_incl"),
        )
        .join(Customer, Customer.id == SalesOrder.customer_id)
        .where(Customer.balance_cents > 0, scope)
        .subquery("orders")
    )
    covered_by_newer = orders.c.newer_incl - orders.c.total_cents
    open_cents = case(
        (covered_by_newer >= orders.c.balance, literal(0)),
        (orders.c.newer_incl <= orders.c.balance, orders.c.total_cents),
        else_=orders.c.balance - covered_by_newer,
    )
    # The bucket bounds are parameters (now - 30 days, ...), so the statement is built once.
    bucket = case(
        *[(orders.c.created_at >= bindparam(f"since_{d}"), literal(name)) for name, d in AGING_BUCKETS if d],
        else_=literal(AGING_BUCKETS[-1][0]),
    )
    # Bucket in an inner query and group by its column: PostgreSQL would not recognise the same CASE
    # with separately bound parameters in SELECT and GROUP BY as one expression.
    per_order = select(bucket.label("bucket"), open_cents.label("open_cents"), orders.c.customer_id).subquery("per_order")
    return (
        select(per_order.c.bucket, func.sum(per_order.c.open_cents).label("open_cents"),
               func.count(distinct(per_order.c.customer_id)).label("customers"))
        .where(per_order.c.open_cents > 0)
        .group_by(per_order.c.bucket)
    )


def _stock_levels(by_warehouse: bool) -> Prepared:
    stmt = (
        select(Stock.product_id, Product.sku, Product.name, Stock.warehouse_id, Warehouse.code.label("warehouse_code"),
               Stock.on_hand)
        .join(Product, Product.id == Stock.product_id)
        .join(Warehouse, Warehouse.id == Stock.warehouse_id)
    )
    if by_warehouse:
        stmt = stmt.where(Stock.warehouse_id == bindparam("warehouse_id"))
    return Prepared(stmt.order_by(Stock.on_hand, Stock.product_id, Stock.warehouse_id).limit(bindparam("limit")))


TOP_CUSTOMERS = Scoped(_top_customers)
AGING = Scoped(_aging)
STOCK_LEVELS = {False: _stock_levels(False), True: _stock_levels(True)}  # keyed by "in one warehouse?"


def top_customers(db: Database, actor: Actor, *, days: int, limit: int) -> list[dict[str, Any]]:
    """Visible customers by sales over the last ``days`` days, biggest first."""
    stmt, scope = TOP_CUSTOMERS.for_actor(actor)
    since = utcnow() - dt.timedelta(days=days)
    with db.reading() as tx:
        rows = tx.tuples(stmt, since=since, limit=limit, **scope)
    return [{"customer_id": cid, "name": name, "orders": int(orders), "total_cents": int(total)}
            for cid, name, orders, total in rows]


def receivables_aging(db: Database, actor: Actor) -> dict[str, Any]:
    """Open balance of visible customers by age of the orders it comes from."""
    stmt, scope = AGING.for_actor(actor)
    now = utcnow()
    bounds = {f"since_{d}": now - dt.timedelta(days=d) for _, d in AGING_BUCKETS if d}
    with db.reading() as tx:
        found = {bucket: (int(cents), int(n)) for bucket, cents, n in tx.tuples(stmt, **bounds, **scope)}
    buckets = [
        {"bucket": name, "open_cents": found.get(name, (0, 0))[0], "customers": found.get(name, (0, 0))[1]}
        for name, _ in AGING_BUCKETS
    ]
    return {"as_of": now, "buckets": buckets, "total_cents": sum(b["open_cents"] for b in buckets)}


def stock_levels(db: Database, *, warehouse_id: int | None, limit: int) -> list[dict[str, Any]]:
    """Lowest on-hand quantities first (what to reorder), optionally in one warehouse."""
    params = {"limit": limit} if warehouse_id is None else {"limit": limit, "warehouse_id": warehouse_id}
    with db.reading() as tx:
        return tx.dicts(STOCK_LEVELS[warehouse_id is not None], **params)


__all__ = ["AGING_BUCKETS", "top_customers", "receivables_aging", "stock_levels"]
