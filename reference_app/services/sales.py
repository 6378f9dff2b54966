"""Sales orders: one unit of work that takes stock, charges the customer's credit and books it.

Order of locks (the same in every write path, so that concurrent documents cannot deadlock):
stock rows in ascending product order, then the customer row, and only then the inserts (whose
foreign keys take shared locks on the parents on MariaDB). Any refusal (out of stock, over
credit) raises a domain error and the whole transaction rolls back: no partial order, no partial
stock change.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from reference_app.domain import CreditLimitExceeded, NotFound
from reference_app.models import Customer, SalesOrder, SalesOrderLine, utcnow
from reference_app.services import stock
from reference_app.services.customers import visible_customer
from reference_app.services.database import Database
from reference_app.services.permissions import Actor, customer_scope


def create_sales_order(db: Database, actor: Actor, customer_id: int, warehouse_id: int,
                       lines: list[tuple[int, int]]) -> tuple[SalesOrder, list[SalesOrderLine]]:
    """Place an order of ``lines`` = [(product_id, qty)] at list prices."""
    customer_scope(actor)  # clerks are refused before any query

    def unit(s: Session) -> tuple[SalesOrder, list[SalesOrderLine]]:
        visible_customer(s, actor, customer_id)
        stock.check_warehouse(s, warehouse_id)
        products = stock.products_by_id(s, [pid for pid, _ in lines])
        amounts = [qty * products[pid].price_cents for pid, qty in lines]
        total = sum(amounts)
        changes = stock.take(s, warehouse_id, lines)
        charged = s.execute(
            update(Customer)
            .where(Customer.id == customer_id, Customer.balance_cents + total <= Customer.credit_limit_cents)
            .values(balance_cents=Customer.balance_cents + total)
            .execution_options(synchronize_session=False)
        )
        if charged.rowcount == 0:
            raise CreditLimitExceeded(customer_id, total)
        order = SalesOrder(customer_id=customer_id, warehouse_id=warehouse_id, operator_id=actor.operator_id,
                           total_cents=total, created_at=utcnow())
        s.add(order)
        s.flush()
        stock.record(s, warehouse_id, changes, reason="sale", doc_type="sales_order", doc_id=order.id,
                     operator_id=actor.operator_id)
        order_lines = [
            SalesOrderLine(order_id=order.id, product_id=pid, qty=qty, unit_price_cents=products[pid].price_cents,
                           amount_cents=amount)
            for (pid, qty), amount in zip(lines, amounts, strict=True)
        ]
        s.add_all(order_lines)
        s.flush()
        return order, order_lines

    return db.write(unit)


def get_sales_order(db: Database, actor: Actor, order_id: int) -> tuple[SalesOrder, list[SalesOrderLine]]:
    """An order whose customer ``actor`` may see (else NotFound), with its lines: two queries."""
    scope = customer_scope(actor)
    with db.read() as s:
        order = s.scalars(
            select(SalesOrder).join(Customer, Customer.id == SalesOrder.customer_id)
            .where(SalesOrder.id == order_id, scope)
        ).one_or_none()
        if order is None:
            raise NotFound("sales order", order_id)
        lines = list(s.scalars(select(SalesOrderLine).where(SalesOrderLine.order_id == order_id)
                               .order_by(SalesOrderLine.id)))
    return order, lines


__all__ = ["create_sales_order", "get_sales_order"]
