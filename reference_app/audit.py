"""The books audit: every way the data can disagree with itself, checked in the database.

Each check is one aggregate query (GROUP BY in the engine, not rows pulled into Python), so the
audit stays usable on tens of millions of rows. A clean database returns no violations.

Checks:

* ``stock_matches_ledger``: on-hand quantity = sum of the stock ledger, per product × warehouse
  (a ledger without a stock row, or a stock row without a ledger, counts too);
* ``stock_not_negative``;
* ``sales_order_total`` / ``purchase_order_total``: an order's total = sum of its lines, and each
  line's amount = qty × unit price;
* ``customer_balance``: balance = sum of order totals − sum of payments;
* ``operator_customer_count``: an operator's recorded customer count = customers it owns, and no
  operator owns more than its quota.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, and_, func, literal, or_, select

from reference_app.models import (
    Customer,
    Operator,
    Payment,
    PurchaseOrder,
    PurchaseOrderLine,
    SalesOrder,
    SalesOrderLine,
    Stock,
    StockMove,
)

# Violations listed per check; the count is always complete.
DEFAULT_SAMPLE = 20


@dataclass
class AuditResult:
    violations: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # violations per check (all of them)

    @property
    def ok(self) -> bool:
        return not any(self.counts.values())

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "counts": self.counts, "violations": self.violations}


def audit(engine: Engine, *, sample: int = DEFAULT_SAMPLE) -> AuditResult:
    """Run every check; ``sample`` bounds how many violations per check are listed."""
    result = AuditResult()
    with engine.connect() as conn:
        for name, query in _checks():
            rows = [dict(r._mapping) for r in conn.execute(query)]
            result.counts[name] = len(rows)
            result.violations.extend({"check": name, **row} for row in rows[:sample])
        conn.rollback()
    return result


def _checks() -> list[tuple[str, Any]]:
    ledger = (
        select(
            StockMove.product_id,
            StockMove.warehouse_id,
            func.sum(StockMove.qty).label("ledger_qty"),
        )
        .group_by(StockMove.product_id, StockMove.warehouse_id)
        .subquery()
    )
    stock_vs_ledger = (
        select(
            Stock.product_id,
            Stock.warehouse_id,
            Stock.on_hand,
            func.coalesce(ledger.c.ledger_qty, 0).label("ledger_qty"),
        )
        .outerjoin(
            ledger,
            and_(ledger.c.product_id == Stock.product_id, ledger.c.warehouse_id == Stock.warehouse_id),
        )
        .where(Stock.on_hand != func.coalesce(ledger.c.ledger_qty, 0))
    )
    ledger_without_stock = (
        select(
            ledger.c.product_id,
            ledger.c.warehouse_id,
            literal(None).label("on_hand"),
            ledger.c.ledger_qty,
        )
        .outerjoin(
            Stock,
            and_(ledger.c.product_id == Stock.product_id, ledger.c.warehouse_id == Stock.warehouse_id),
        )
        .where(Stock.product_id.is_(None))
    )
    negative_stock = select(Stock.product_id, Stock.warehouse_id, Stock.on_hand).where(Stock.on_hand < 0)

    def order_total_check(order, line, price_col):
        sums = (
            select(
                line.order_id,
                func.sum(line.amount_cents).label("lines_cents"),
                func.sum(
                    # a line whose amount is not qty × price counts once per bad line
                    func.abs(line.amount_cents - line.qty * price_col)
                ).label("bad_line_cents"),
            )
            .group_by(line.order_id)
            .subquery()
        )
        return (
            select(
                order.id.label("order_id"),
                order.total_cents,
                func.coalesce(sums.c.lines_cents, 0).label("lines_cents"),
                func.coalesce(sums.c.bad_line_cents, 0).label("bad_line_cents"),
            )
            .outerjoin(sums, sums.c.order_id == order.id)
            .where(
                or_(
                    order.total_cents != func.coalesce(sums.c.lines_cents, 0),
                    func.coalesce(sums.c.bad_line_cents, 0) != 0,
                    sums.c.order_id.is_(None),  # an order without lines
                )
            )
        )

    order_sums = (
        select(SalesOrder.customer_id, func.sum(SalesOrder.total_cents).label("orders_cents"))
        .group_by(SalesOrder.customer_id)
        .subquery()
    )
    payment_sums = (
        select(Payment.customer_id, func.sum(Payment.amount_cents).label("payments_cents"))
        .group_by(Payment.customer_id)
        .subquery()
    )
    expected_balance = func.coalesce(order_sums.c.orders_cents, 0) - func.coalesce(
        payment_sums.c.payments_cents, 0
    )
    balance = (
        select(
            Customer.id.label("customer_id"),
            Customer.balance_cents,
            func.coalesce(order_sums.c.orders_cents, 0).label("orders_cents"),
            func.coalesce(payment_sums.c.payments_cents, 0).label("payments_cents"),
        )
        .outerjoin(order_sums, order_sums.c.customer_id == Customer.id)
        .outerjoin(payment_sums, payment_sums.c.customer_id == Customer.id)
        .where(Customer.balance_cents != expected_balance)
    )

    owned = (
        select(Customer.owner_id, func.count().label("owned"))
        .group_by(Customer.owner_id)
        .subquery()
    )
    operator_counts = (
        select(
            Operator.id.label("operator_id"),
            Operator.customer_count,
            Operator.customer_quota,
            func.coalesce(owned.c.owned, 0).label("owned"),
        )
        .outerjoin(owned, owned.c.owner_id == Operator.id)
        .where(
            or_(
                Operator.customer_count != func.coalesce(owned.c.owned, 0),
                func.coalesce(owned.c.owned, 0) > Operator.customer_quota,
            )
        )
    )
    return [
        ("stock_matches_ledger", stock_vs_ledger.union_all(ledger_without_stock)),
        ("stock_not_negative", negative_stock),
        ("sales_order_total", order_total_check(SalesOrder, SalesOrderLine, SalesOrderLine.unit_price_cents)),
        ("purchase_order_total", order_total_check(PurchaseOrder, PurchaseOrderLine, PurchaseOrderLine.unit_cost_cents)),
        ("customer_balance", balance),
        ("operator_customer_count", operator_counts),
    ]


__all__ = ["AuditResult", "audit"]
