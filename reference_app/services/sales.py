"""Sales orders: one unit of work that takes stock, charges the customer's credit and books it.

Order of locks (the same in every write path, so that concurrent documents cannot deadlock):
stock rows in ascending product order, then the customer row, and only then the inserts (whose
foreign keys take shared locks on the parents on MariaDB). Any refusal (out of stock, over
credit) raises a domain error and the whole transaction rolls back: no partial order, no partial
stock change.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, select, update

from reference_app.domain import CreditLimitExceeded, NotFound
from reference_app.models import Customer, SalesOrder, SalesOrderLine, utcnow
from reference_app.services import stock
from reference_app.services.customers import require_visible
from reference_app.services.database import Database
from reference_app.services.permissions import Actor, Scoped, scope_of
from reference_app.services.prepared import Prepared, Tx, insert_row

_TOTAL = bindparam("p_total")
CHARGE = Prepared(
    update(Customer)
    .where(Customer.id == bindparam("p_customer"), Customer.balance_cents + _TOTAL <= Customer.credit_limit_cents)
    .values(balance_cents=Customer.balance_cents + _TOTAL, updated_at=bindparam("p_now"))  # as onupdate would
)
NEW_ORDER = insert_row(SalesOrder.__table__)
NEW_LINE = insert_row(SalesOrderLine.__table__)
ORDER_COLUMNS = tuple(SalesOrder.__table__.c)
LINE_COLUMNS = tuple(SalesOrderLine.__table__.c)
ORDER_OF_VISIBLE = Scoped(lambda scope: select(*ORDER_COLUMNS).join(Customer, Customer.id == SalesOrder.customer_id)
                          .where(SalesOrder.id == bindparam("order_id"), scope))
ORDER_LINES = Prepared(select(*LINE_COLUMNS).where(SalesOrderLine.order_id == bindparam("order_id"))
                       .order_by(SalesOrderLine.id))


def create_sales_order(db: Database, actor: Actor, customer_id: int, warehouse_id: int,
                       lines: list[tuple[int, int]]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Place an order of ``lines`` = [(product_id, qty)] at list prices; the order and its lines as
    dicts of their columns."""
    scope_of(actor)  # clerks are refused before any query

    def unit(tx: Tx) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        require_visible(tx, actor, customer_id)
        stock.check_warehouse(tx, warehouse_id)
        prices = stock.product_prices(tx, [pid for pid, _ in lines])
        amounts = [qty * prices[pid][0] for pid, qty in lines]
        total = sum(amounts)
        changes = stock.take(tx, warehouse_id, lines)
        now = utcnow()
        if tx.run(CHARGE, p_customer=customer_id, p_total=total, p_now=now) == 0:
            raise CreditLimitExceeded(customer_id, total)
        order = dict(customer_id=customer_id, warehouse_id=warehouse_id, operator_id=actor.operator_id,
                     total_cents=total, created_at=now)
        order = {"id": tx.insert(NEW_ORDER, **order), **order}
        stock.record(tx, warehouse_id, changes, reason="sale", doc_type="sales_order", doc_id=order["id"],
                     operator_id=actor.operator_id)
        order_lines = []
        for (pid, qty), amount in zip(lines, amounts, strict=True):
            line = dict(order_id=order["id"], product_id=pid, qty=qty, unit_price_cents=prices[pid][0],
                        amount_cents=amount)
            order_lines.append({"id": tx.insert(NEW_LINE, **line), **line})
        return order, order_lines

    return db.writing(unit)


def get_sales_order(db: Database, actor: Actor, order_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """An order whose customer ``actor`` may see (else NotFound), with its lines: two queries."""
    stmt, scope = ORDER_OF_VISIBLE.for_actor(actor)
    with db.reading() as tx:
        order = tx.first(stmt, order_id=order_id, **scope)
        if order is None:
            raise NotFound("sales order", order_id)
        lines = tx.dicts(ORDER_LINES, order_id=order_id)
    return order, lines


__all__ = ["create_sales_order", "get_sales_order"]
